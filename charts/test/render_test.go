package charttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"sigs.k8s.io/yaml"
)

// The chart, and the repository's config/, from this directory.
var (
	chartDir  = filepath.Join("..", "rmodel-operator")
	configDir = filepath.Join("..", "..", "config")
)

// The release the comparisons install: config/default's namespace, and its
// namePrefix as the release name.
const (
	releaseName      = "rmodel"
	releaseNamespace = "rmodel-system"
)

// TestMain quiets Helm's loader, which logs each link under files/ (to
// config/) at every load.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// object is one Kubernetes object, as JSON decodes it.
type object = map[string]any

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	return ch
}

// render is `helm template`: an install, dry run on the client only, of the
// chart with vals. It returns the render error rather than failing.
func render(t *testing.T, vals map[string]any) ([]object, error) {
	t.Helper()
	return renderChart(t, loadChart(t), vals)
}

func renderChart(t *testing.T, ch *chart.Chart, vals map[string]any) ([]object, error) {
	t.Helper()
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: common.DefaultCapabilities,
	}
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = releaseNamespace
	install.Replace = true
	r, err := install.Run(ch, vals)
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		t.Fatalf("install returned a %T", r)
	}
	return decodeYAML(t, rel.Manifest), nil
}

func mustRender(t *testing.T, vals map[string]any) []object {
	t.Helper()
	return mustRenderChart(t, loadChart(t), vals)
}

func mustRenderChart(t *testing.T, ch *chart.Chart, vals map[string]any) []object {
	t.Helper()
	objs, err := renderChart(t, ch, vals)
	if err != nil {
		t.Fatalf("render the chart: %v", err)
	}
	return objs
}

// kustomize is `kubectl kustomize config/<dir>`, with the kubectl that
// `make kube-binaries` builds (bin/k8s/kubectl, or $KUBECTL): the kustomize
// that `kubectl apply -k config/default` uses. (Kustomize's own Go module,
// at the version Helm needs, knows admission policies are cluster-scoped and
// refuses config/default's patch that takes their namespace away.)
func kustomize(t *testing.T, dir string) []object {
	t.Helper()
	kubectl := os.Getenv("KUBECTL")
	if kubectl == "" {
		kubectl = filepath.Join("..", "..", "bin", "k8s", "kubectl")
	}
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("the comparison with config/ needs kubectl at %s: run `make kube-binaries` or set KUBECTL", kubectl)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(configDir, dir))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/%s: %v: %s", dir, err, stderr.String())
	}
	return decodeYAML(t, string(out))
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeYAML splits a multi-document stream into objects, through JSON, so
// that both sides of a comparison hold the same Go types.
func decodeYAML(t *testing.T, stream string) []object {
	t.Helper()
	var objs []object
	for _, doc := range docSeparator.Split(stream, -1) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("decode %.300s: %v", doc, err)
		}
		var o object
		if err := json.Unmarshal(j, &o); err != nil {
			t.Fatal(err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

// key names an object as `kubectl get` would: kind, namespace, name.
func key(o object) string {
	ns, _ := get(o, "metadata", "namespace").(string)
	return fmt.Sprintf("%s %s/%s", get(o, "kind"), ns, get(o, "metadata", "name"))
}

// get walks o along path (map keys, or list indices as ints); nil when absent.
func get(o any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := o.(map[string]any)
			if !ok {
				return nil
			}
			o = m[p]
		case int:
			l, ok := o.([]any)
			if !ok || p >= len(l) {
				return nil
			}
			o = l[p]
		}
	}
	return o
}

func byKey(objs []object) map[string]object {
	m := make(map[string]object, len(objs))
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if get(o, "kind") == kind && get(o, "metadata", "name") == name {
			return o
		}
	}
	var have []string
	for _, o := range objs {
		have = append(have, key(o))
	}
	t.Fatalf("no %s %s among\n  %s", kind, name, strings.Join(have, "\n  "))
	return nil
}

func keys(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, key(o))
	}
	slices.Sort(ks)
	return ks
}

// diff lists the paths at which a and b differ, one a line. Strings that
// differ only in white space are the same (see intentionalDifferences).
func diff(a, b any) []string {
	var out []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch av := a.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				break
			}
			var ks []string
			for k := range av {
				ks = append(ks, k)
			}
			for k := range bv {
				if _, ok := av[k]; !ok {
					ks = append(ks, k)
				}
			}
			slices.Sort(ks)
			for _, k := range ks {
				walk(path+"."+k, av[k], bv[k])
			}
			return
		case []any:
			bv, ok := b.([]any)
			if !ok || len(av) != len(bv) {
				break
			}
			for i := range av {
				walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])
			}
			return
		}
		if sa, ok := a.(string); ok {
			if sb, ok := b.(string); ok && strings.Join(strings.Fields(sa), " ") == strings.Join(strings.Fields(sb), " ") {
				return
			}
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			out = append(out, fmt.Sprintf("%s: %.200s != %.200s", path, ja, jb))
		}
	}
	walk("", a, b)
	return out
}
