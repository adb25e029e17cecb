package images_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The list of every library onnxruntime's CUDA provider loads, which the CUDA
// runtime image carries (Dockerfile.runtime, hack/images/copy-cuda-libraries.sh).
const cudaLibraryList = "../../hack/images/cuda-libraries.txt"

// The provider, and the onnxruntime files shipped beside it: what they need
// of one another is in the image already.
const cudaProvider = "libonnxruntime_providers_cuda.so"

var ortShipped = []string{"libonnxruntime.so.1", "libonnxruntime_providers_shared.so", cudaProvider}

// libraryEntry is one line of cuda-libraries.txt.
type libraryEntry struct {
	Soname   string // the soname, or a pattern with `*` for the CUDA minor version
	How      string // needed, dlopen, driver or base
	LoadedBy string // "provider", or the soname of the list's library that loads it
}

// readLibraryList parses cuda-libraries.txt: `#` comments, then columns
// soname, how, loaded-by and a free-text note.
func readLibraryList(path string) ([]libraryEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []libraryEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want soname, how, loaded-by: %q", path, n, line)
		}
		e := libraryEntry{Soname: fields[0], How: fields[1], LoadedBy: fields[2]}
		if !slices.Contains([]string{"needed", "dlopen", "driver", "base"}, e.How) {
			return nil, fmt.Errorf("%s:%d: how %q: want needed, dlopen, driver or base", path, n, e.How)
		}
		entries = append(entries, e)
	}
	return entries, sc.Err()
}

// checkListShape reports what makes a list unusable: a soname listed twice, or
// a loaded-by that is neither the provider nor a library of the list.
func checkListShape(entries []libraryEntry) []string {
	var problems []string
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Soname] {
			problems = append(problems, e.Soname+" is listed twice")
		}
		seen[e.Soname] = true
	}
	for _, e := range entries {
		if e.LoadedBy != "provider" && !seen[e.LoadedBy] {
			problems = append(problems, fmt.Sprintf("%s is loaded by %s, which is not listed", e.Soname, e.LoadedBy))
		}
	}
	return problems
}

// externalNeeds follows DT_NEEDED from root through the libraries in shipped
// (soname -> path) and returns every soname needed that is not shipped, each
// with the files that need it.
func externalNeeds(root string, shipped map[string]string, needed func(path string) ([]string, error)) (map[string][]string, error) {
	external := map[string][]string{}
	visited := map[string]bool{}
	queue := []string{root}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if visited[path] {
			continue
		}
		visited[path] = true
		libs, err := needed(path)
		if err != nil {
			return nil, err
		}
		for _, lib := range libs {
			if p, ok := shipped[lib]; ok {
				queue = append(queue, p)
				continue
			}
			external[lib] = append(external[lib], filepath.Base(path))
		}
	}
	return external, nil
}

// compareNeeds compares the provider's external needs with the list's
// entries loaded by the provider that ldd would show (needed, driver, base):
// missing are needed but not listed, extra are listed but not needed.
func compareNeeds(external map[string][]string, entries []libraryEntry) (missing, extra []string) {
	listed := map[string]bool{}
	for _, e := range entries {
		if e.LoadedBy == "provider" && e.How != "dlopen" {
			listed[e.Soname] = true
			if _, ok := external[e.Soname]; !ok {
				extra = append(extra, e.Soname)
			}
		}
	}
	for lib, by := range external {
		if !listed[lib] {
			missing = append(missing, fmt.Sprintf("%s (needed by %s)", lib, strings.Join(by, ", ")))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// namedInCode reports whether a library's code names soname, the way a
// dlopen call's argument is stored: as a C string, or (for 9 to 16 bytes) as
// the two overlapping 8-byte immediates a compiler builds a short string from,
// a few instructions apart.
func namedInCode(code []byte, soname string) bool {
	if bytes.Contains(code, append([]byte(soname), 0)) {
		return true
	}
	n := len(soname)
	if n <= 8 || n > 16 {
		return false
	}
	first, last := []byte(soname[:8]), []byte(soname[n-8:])
	for rest := code; ; {
		i := bytes.Index(rest, first)
		if i < 0 {
			return false
		}
		window := rest[i+8 : min(len(rest), i+8+32)]
		if bytes.Contains(window, last) {
			return true
		}
		rest = rest[i+1:]
	}
}

func elfNeeded(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ImportedLibraries()
}

func TestCUDALibraryListIsWellFormed(t *testing.T) {
	entries, err := readLibraryList(cudaLibraryList)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkListShape(entries) {
		t.Error(p)
	}
	// The image carries the CUDA runtime itself: the container toolkit mounts
	// only the driver.
	for _, want := range []string{"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10"} {
		if i := slices.IndexFunc(entries, func(e libraryEntry) bool { return e.Soname == want }); i < 0 || entries[i].How != "needed" {
			t.Errorf("%s is not listed as needed", want)
		}
	}
}

func TestCUDAListChecksAreExact(t *testing.T) {
	// provider -> libA, the shipped libshared (-> libB, libc), libc.
	graph := map[string][]string{
		"/ort/provider.so":  {"libA.so.1", "libshared.so", "libc.so.6"},
		"/ort/libshared.so": {"libB.so.2", "libc.so.6"},
	}
	needed := func(p string) ([]string, error) { return graph[p], nil }
	external, err := externalNeeds("/ort/provider.so", map[string]string{"libshared.so": "/ort/libshared.so"}, needed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(mapKeys(external)), []string{"libA.so.1", "libB.so.2", "libc.so.6"}; !slices.Equal(got, want) {
		t.Fatalf("external needs %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name           string
		entries        []libraryEntry
		missing, extra []string
	}{{
		name: "exact",
		entries: []libraryEntry{
			{"libA.so.1", "needed", "provider"}, {"libB.so.2", "needed", "provider"}, {"libc.so.6", "base", "provider"},
			{"libdl.so.9", "dlopen", "provider"}, {"libsub.so.9", "dlopen", "libdl.so.9"},
		},
	}, {
		name:    "one missing",
		entries: []libraryEntry{{"libA.so.1", "needed", "provider"}, {"libc.so.6", "base", "provider"}},
		missing: []string{"libB.so.2 (needed by libshared.so)"},
	}, {
		name: "one extra; a dlopen entry does not hide a missing one",
		entries: []libraryEntry{
			{"libA.so.1", "needed", "provider"}, {"libB.so.2", "dlopen", "provider"}, {"libc.so.6", "base", "provider"},
			{"libgone.so.1", "needed", "provider"},
		},
		missing: []string{"libB.so.2 (needed by libshared.so)"},
		extra:   []string{"libgone.so.1"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			missing, extra := compareNeeds(external, tc.entries)
			if !slices.Equal(missing, tc.missing) || !slices.Equal(extra, tc.extra) {
				t.Errorf("missing %q extra %q, want %q and %q", missing, extra, tc.missing, tc.extra)
			}
		})
	}

	code := []byte("..\x00libnvrtc.so.13\x00..H\xb8libcudnnH\x89H\xb8dnn.so.9..")
	for soname, want := range map[string]bool{"libnvrtc.so.13": true, "libcudnn.so.9": true, "libnvrtc.so": false, "libcufft.so.12": false} {
		if got := namedInCode(code, soname); got != want {
			t.Errorf("namedInCode(%q) = %v, want %v", soname, got, want)
		}
	}

	if p := checkListShape([]libraryEntry{{"a", "needed", "provider"}, {"a", "needed", "provider"}, {"b", "dlopen", "c"}}); len(p) != 2 {
		t.Errorf("checkListShape: %q, want a duplicate and an unknown loader", p)
	}
}

// TestCUDAProviderLibrariesMatchList reads the real provider's ELF. It needs
// the CUDA provider: make test-images-cuda fetches it (230 MB, about 20 s).
func TestCUDAProviderLibrariesMatchList(t *testing.T) {
	dir := os.Getenv("RAI_ORT_CUDA_DIR")
	if dir == "" {
		dir = "../../bin/onnxruntime"
	}
	provider := filepath.Join(dir, cudaProvider)
	if _, err := os.Stat(provider); err != nil {
		t.Skipf("no CUDA provider at %s: run make test-images-cuda (it fetches onnxruntime's CUDA provider) to check %s against it", provider, filepath.Base(cudaLibraryList))
	}
	shipped := map[string]string{}
	for _, name := range ortShipped {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is shipped beside the provider: %v", name, err)
		}
		shipped[name] = p
	}
	entries, err := readLibraryList(cudaLibraryList)
	if err != nil {
		t.Fatal(err)
	}
	external, err := externalNeeds(provider, shipped, elfNeeded)
	if err != nil {
		t.Fatal(err)
	}
	missing, extra := compareNeeds(external, entries)
	for _, m := range missing {
		t.Errorf("%s: not in %s", m, cudaLibraryList)
	}
	for _, e := range extra {
		t.Errorf("%s is listed as loaded by the provider, which does not need it", e)
	}

	code, err := os.ReadFile(provider)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.How == "dlopen" && e.LoadedBy == "provider" && !namedInCode(code, e.Soname) {
			t.Errorf("%s is listed as opened by the provider, whose code does not name it", e.Soname)
		}
	}
	t.Logf("the provider needs %d libraries outside onnxruntime: %s", len(external), strings.Join(slices.Sorted(mapKeys(external)), " "))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCopyCUDALibrariesScript runs hack/images/copy-cuda-libraries.sh (what
// the CUDA image build runs in CUDA_IMAGE) on a made-up CUDA tree: every
// listed library is copied, symbolic links followed, and a missing one fails
// the copy, named.
func TestCopyCUDALibrariesScript(t *testing.T) {
	entries, err := readLibraryList(cudaLibraryList)
	if err != nil {
		t.Fatal(err)
	}
	cuda, dest := t.TempDir(), t.TempDir()
	var copied []string
	for _, e := range entries {
		if e.How != "needed" && e.How != "dlopen" {
			continue
		}
		name := strings.ReplaceAll(e.Soname, "*", "0")
		if err := os.WriteFile(filepath.Join(cuda, name+".real"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name+".real", filepath.Join(cuda, name)); err != nil {
			t.Fatal(err)
		}
		copied = append(copied, name)
	}
	for _, f := range ortShipped {
		if err := os.WriteFile(filepath.Join(dest, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func() (string, error) {
		cmd := exec.Command("sh", "../../hack/images/copy-cuda-libraries.sh", cudaLibraryList, dest)
		cmd.Env = append(os.Environ(), "CUDA_LIBRARY_DIRS="+filepath.Join(cuda, "absent")+" "+cuda)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	for _, name := range copied {
		fi, err := os.Lstat(filepath.Join(dest, name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: not copied as a file (%v)", name, err)
		}
	}

	if err := os.Remove(filepath.Join(cuda, "libcurand.so.10")); err != nil {
		t.Fatal(err)
	}
	if out, err := run(); err == nil || !strings.Contains(out, "not found in") || !strings.Contains(out, "libcurand.so.10") {
		t.Errorf("a missing libcurand.so.10: %v\n%s\nwant a failure naming it", err, out)
	}
}
