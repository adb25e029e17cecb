package policies

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// defaultFS holds the default promotion policy and its Rego unit tests.
//
//go:embed rego/*.rego
var defaultFS embed.FS

// DefaultModulePrefix prefixes the filenames of the embedded default modules
// in Default. A ConfigMap key cannot contain '/', so no ConfigMap module can
// clash with a default module in Merge.
const DefaultModulePrefix = "rai/"

// Bundle is a policy: Rego modules and the data they read.
type Bundle struct {
	// Modules maps a filename to Rego v1 source. Filenames appear in
	// compiler errors, so they should say where a module came from.
	Modules map[string]string `json:"modules,omitempty"`
	// Data is merged under data.* (for example {"rai": {"thresholds": {...}}}
	// is data.rai.thresholds). It must be JSON: maps, slices, strings,
	// numbers (json.Number included), booleans and nil.
	Data map[string]any `json:"data,omitempty"`
}

// Default returns the embedded default promotion policy (package
// rai.promotion), without its *_test.rego files. Each call returns a fresh
// copy that the caller may modify.
func Default() Bundle {
	b, err := loadRego(defaultFS, "rego", false)
	if err != nil {
		// The files are embedded at build time; a read error is a build bug.
		panic(fmt.Sprintf("read embedded default policy: %v", err))
	}
	return b
}

// defaultTests returns the Rego unit tests of the default policy.
func defaultTests() (map[string]string, error) {
	b, err := loadRego(defaultFS, "rego", true)
	return b.Modules, err
}

// loadRego reads the .rego files of dir: the test files when tests is true,
// the others when it is false.
func loadRego(fsys fs.FS, dir string, tests bool) (Bundle, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return Bundle{}, err
	}
	b := Bundle{Modules: map[string]string{}}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, "_test.rego") != tests {
			continue
		}
		src, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return Bundle{}, err
		}
		b.Modules[DefaultModulePrefix+name] = string(src)
	}
	return b, nil
}

// Merge combines bundles in order of increasing precedence: the default
// policy, then the cluster ConfigMap bundle, then the selecting
// PromotionPolicies' bundles (a namespace contributes no Rego: only
// threshold data, in the input).
// Modules are pooled: two bundles that define the same module filename are an
// error, because neither can silently replace the other's rules. Data is
// merged key by key, recursively through objects: a later bundle's value
// wins, so a PromotionPolicy's data can override one cluster value and keep
// the rest. The inputs are not modified.
func Merge(bundles ...Bundle) (Bundle, error) {
	out := Bundle{Modules: map[string]string{}, Data: map[string]any{}}
	from := map[string]int{}
	for i, b := range bundles {
		for _, name := range slices.Sorted(maps.Keys(b.Modules)) {
			if j, ok := from[name]; ok {
				return Bundle{}, fmt.Errorf("merge policy bundles: module %q is defined in bundle %d and again in bundle %d", name, j, i)
			}
			from[name] = i
			out.Modules[name] = b.Modules[name]
		}
		mergeData(out.Data, deepCopy(b.Data).(map[string]any))
	}
	return out, nil
}

// mergeData merges src into dst: objects recursively, anything else replaced.
func mergeData(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeData(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}

// deepCopy copies the maps and slices of a JSON-like value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return x
	}
}

// BundleFromConfigMap reads a policy ConfigMap's data. A key ending in
// ".rego" is a Rego v1 module named after the key; a key ending in ".json"
// holds a JSON object merged into data.* (several JSON keys merge in key
// order, a later key winning). Any other key is an error: a misnamed file
// (say "policy.rgo") would otherwise be a rule that silently never applies.
// Rego is not compiled here; the engine reports a module that does not
// compile as a denial with the compiler's message.
func BundleFromConfigMap(data map[string]string) (Bundle, error) {
	b := Bundle{Modules: map[string]string{}, Data: map[string]any{}}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		switch {
		case strings.HasSuffix(key, ".rego"):
			b.Modules[key] = data[key]
		case strings.HasSuffix(key, ".json"):
			obj, err := decodeJSONObject([]byte(data[key]))
			if err != nil {
				return Bundle{}, fmt.Errorf("policy ConfigMap key %q: %w", key, err)
			}
			mergeData(b.Data, obj)
		default:
			return Bundle{}, fmt.Errorf("policy ConfigMap key %q: want a Rego module (*.rego) or a JSON data object (*.json)", key)
		}
	}
	return b, nil
}

// decodeJSONObject decodes one JSON object, keeping numbers exact.
func decodeJSONObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("decode JSON object: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("decode JSON object: got null")
	}
	if dec.More() {
		return nil, fmt.Errorf("decode JSON object: trailing data after the object")
	}
	return obj, nil
}

// canonicalJSON encodes v as JSON with object keys sorted, after a round
// trip through a generic value, so that equal documents (a struct and the
// map it encodes to, 0.8 and json.Number("0.8")) give equal bytes.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// Digest returns "sha256:<hex>" over the bundle's modules (sorted by
// filename, each name and source length-prefixed so that no text can move
// between them unnoticed) and its canonical data JSON. Equal policies have
// equal digests whatever the order they were built in; any change to a
// module's name or source, or to the data, changes it.
func (b Bundle) Digest() (string, error) {
	var data any = b.Data
	if len(b.Data) == 0 {
		data = map[string]any{} // nil and empty data are the same policy
	}
	raw, err := canonicalJSON(data)
	if err != nil {
		return "", fmt.Errorf("digest policy bundle: data is not JSON: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "rai.policy/v1\n%d modules\n", len(b.Modules))
	for _, name := range slices.Sorted(maps.Keys(b.Modules)) {
		src := b.Modules[name]
		fmt.Fprintf(h, "%d:%s\n%d:%s\n", len(name), name, len(src), src)
	}
	fmt.Fprintf(h, "data %d:%s\n", len(raw), raw)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
