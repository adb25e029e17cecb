package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests run the real opa CLI, built by `make test-deps` (`make opa`)
// into bin/opa from hack/tools/opa, on the shipped Rego: what a platform team
// runs by hand (docs/policies.md, "Testing a policy") must pass too, not only
// the Go test runner above. $OPA names another opa binary; OPA_CLI_SKIP=1
// skips them, for a `go test ./policies/` without `make test-deps`.

const opaModule = "github.com/open-policy-agent/opa"

// repoRoot is the directory above the working directory that holds go.mod
// and PROJECT (as internal/testenv.RepoRoot finds it, without importing
// envtest into the policy tests).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, errMod := os.Stat(filepath.Join(dir, "go.mod"))
		_, errProject := os.Stat(filepath.Join(dir, "PROJECT"))
		if errMod == nil && errProject == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (with go.mod and PROJECT) not found above the working directory")
		}
		dir = parent
	}
}

// opaCLI returns the opa binary to run: $OPA, or bin/opa under the
// repository root. A missing binary fails the test (`make test` builds it)
// unless OPA_CLI_SKIP=1.
func opaCLI(t *testing.T) string {
	t.Helper()
	if os.Getenv("OPA_CLI_SKIP") == "1" {
		t.Skip("OPA_CLI_SKIP=1: not running the opa CLI")
	}
	bin := os.Getenv("OPA")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", "opa")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the opa CLI %s is missing (%v): run `make test-deps` (or `make opa`) to build it from hack/tools/opa, "+
			"set OPA to an opa binary, or set OPA_CLI_SKIP=1 to skip the opa CLI tests", bin, err)
	}
	return bin
}

// runOPA runs opa with args in dir and returns its stdout, its stderr and
// its exit error (nil on exit status 0).
func runOPA(t *testing.T, bin, dir string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s %s: %v", bin, strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), err
}

// requiredOPAVersion returns the version of the opa module that the go.mod
// at path requires.
func requiredOPAVersion(t *testing.T, path string) string {
	t.Helper()
	gomod := readFile(t, path)
	if regexp.MustCompile(`(?m)^\s*(?:replace\s+)?` + regexp.QuoteMeta(opaModule) + `(?:\s+v\S+)?\s+=>`).MatchString(gomod) {
		t.Fatalf("%s replaces %s: pin the opa CLI and the engine to one released version", path, opaModule)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(opaModule) + `\s+(v\S+)(?:\s+//.*)?$`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatalf("%s does not require %s", path, opaModule)
	}
	return m[1]
}

// engineOPAVersion is the version of the opa module that the policy engine
// is built with: the one the root go.mod requires.
func engineOPAVersion(t *testing.T) string {
	t.Helper()
	return requiredOPAVersion(t, filepath.Join(repoRoot(t), "go.mod"))
}

// TestOPAToolPinsEngineVersion checks that hack/tools/opa, from which bin/opa
// is built, pins the opa version the engine links: the CLI must judge the
// Rego as the manager compiles it.
func TestOPAToolPinsEngineVersion(t *testing.T) {
	want := engineOPAVersion(t)
	got := requiredOPAVersion(t, filepath.Join(repoRoot(t), "hack", "tools", "opa", "go.mod"))
	if got != want {
		t.Fatalf("hack/tools/opa/go.mod pins %s %s, the engine (root go.mod) %s: make them equal", opaModule, got, want)
	}
}

// TestOPACLIVersion checks that the opa binary is the pinned version, so that
// a stale bin/opa cannot pass the tests below for another version.
func TestOPACLIVersion(t *testing.T) {
	bin := opaCLI(t)
	out, stderr, err := runOPA(t, bin, t.TempDir(), "version")
	if err != nil {
		t.Fatalf("opa version: %v\n%s%s", err, out, stderr)
	}
	m := regexp.MustCompile(`(?m)^Version: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("opa version printed no version:\n%s", out)
	}
	if want := strings.TrimPrefix(engineOPAVersion(t), "v"); m[1] != want {
		t.Fatalf("%s is opa %s, the engine's is %s: run `make opa` to rebuild it", bin, m[1], want)
	}
}

// regoTestRule finds the test rules of a Rego test file.
var regoTestRule = regexp.MustCompile(`(?m)^test_[A-Za-z0-9_]+`)

// countRegoTests counts the test_ rules in the *_test.rego files of dirs
// (relative to the repository root).
func countRegoTests(t *testing.T, root string, dirs ...string) int {
	t.Helper()
	n := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*_test.rego"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no *_test.rego files in %s", dir)
		}
		for _, f := range files {
			n += len(regoTestRule.FindAllString(readFile(t, f), -1))
		}
	}
	return n
}

// opaTestResult is one entry of `opa test --format=json`.
type opaTestResult struct {
	Package string          `json:"package"`
	Name    string          `json:"name"`
	Fail    bool            `json:"fail"`
	Skip    bool            `json:"skip"`
	Error   json.RawMessage `json:"error"`
}

// opaTest runs `opa test --format=json` on paths in dir and returns how many
// tests passed, with a description of every failure ("" when none).
func opaTest(t *testing.T, bin, dir string, paths ...string) (int, string) {
	t.Helper()
	out, stderr, err := runOPA(t, bin, dir, append([]string{"test", "--format=json"}, paths...)...)
	var results []opaTestResult
	if jsonErr := json.Unmarshal([]byte(out), &results); jsonErr != nil {
		return 0, fmt.Sprintf("opa test %s: %v; its output is not a JSON test report (%v):\n%s%s", strings.Join(paths, " "), err, jsonErr, out, stderr)
	}
	passed := 0
	var failures []string
	for _, r := range results {
		switch {
		case len(r.Error) > 0 && string(r.Error) != "null":
			failures = append(failures, fmt.Sprintf("%s.%s: error: %s", r.Package, r.Name, r.Error))
		case r.Fail:
			failures = append(failures, fmt.Sprintf("%s.%s: FAIL", r.Package, r.Name))
		case r.Skip:
			failures = append(failures, fmt.Sprintf("%s.%s: skipped", r.Package, r.Name))
		default:
			passed++
		}
	}
	if err != nil && len(failures) == 0 {
		failures = append(failures, fmt.Sprintf("%v\n%s", err, stderr))
	}
	if len(failures) > 0 {
		return passed, fmt.Sprintf("opa test %s: %d passed, %d failed:\n%s", strings.Join(paths, " "), passed, len(failures), strings.Join(failures, "\n"))
	}
	return passed, ""
}

// TestOPACLITest runs `opa test` on the default policy, and on it with the
// credit example, as docs/policies.md tells platform teams to: every test_
// rule of the files must run and pass.
func TestOPACLITest(t *testing.T) {
	bin := opaCLI(t)
	root := repoRoot(t)
	for name, dirs := range map[string][]string{
		"default":        {"policies/rego"},
		"default+credit": {"policies/rego", "policies/examples/credit"},
	} {
		t.Run(name, func(t *testing.T) {
			want := countRegoTests(t, root, dirs...)
			if want <= 60 {
				t.Fatalf("counted %d test_ rules in %v, want more than 60: were test files dropped?", want, dirs)
			}
			passed, failures := opaTest(t, bin, root, dirs...)
			if failures != "" {
				t.Fatal(failures)
			}
			if passed != want {
				t.Fatalf("opa test %v passed %d tests, want the %d test_ rules in the files", dirs, passed, want)
			}
			t.Logf("opa test %s: PASS %d/%d", strings.Join(dirs, " "), passed, want)
		})
	}
}

// TestOPACLICheckStrict runs `opa check --strict` on the shipped Rego: the
// default policy, its tests and the credit example together (one package,
// so at most one package-scoped METADATA block among them).
func TestOPACLICheckStrict(t *testing.T) {
	bin := opaCLI(t)
	root := repoRoot(t)
	for _, dirs := range [][]string{
		{"policies/rego"},
		{"policies/rego", "policies/examples/credit"},
	} {
		args := append([]string{"check", "--strict"}, dirs...)
		if out, stderr, err := runOPA(t, bin, root, args...); err != nil {
			t.Errorf("opa %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
	}
}

// writeRego writes Rego files into a new temporary directory.
func writeRego(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestOPACLICatchesBrokenPolicies proves that the tests above can fail: opa check
// --strict rejects what only strict mode rejects and a redeclared package
// annotation, and a failing Rego test fails opa test.
func TestOPACLICatchesBrokenPolicies(t *testing.T) {
	bin := opaCLI(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{{
		name: "unused local under --strict",
		files: map[string]string{"p.rego": `package broken

p if {
	x := 1
	input.y == 2
}
`},
		want: "assigned var x unused",
	}, {
		name: "package annotation redeclared",
		files: map[string]string{
			"a.rego": "# METADATA\n# title: A\npackage broken\n\na := 1\n",
			"b.rego": "# METADATA\n# title: B\npackage broken\n\nb := 2\n",
		},
		want: "package annotation redeclared",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRego(t, tc.files)
			out, stderr, err := runOPA(t, bin, dir, "check", "--strict", ".")
			if err == nil {
				t.Fatalf("opa check --strict passed a broken module:\n%s%s", out, stderr)
			}
			if !strings.Contains(out+stderr, tc.want) {
				t.Fatalf("opa check --strict: %v, want an error containing %q:\n%s%s", err, tc.want, out, stderr)
			}
		})
	}
	t.Run("failing Rego test", func(t *testing.T) {
		dir := writeRego(t, map[string]string{"x_test.rego": "package x_test\n\ntest_passes if 1 == 1\n\ntest_fails if 1 == 2\n"})
		passed, failures := opaTest(t, bin, dir, ".")
		if passed != 1 || !strings.Contains(failures, "data.x_test.test_fails: FAIL") {
			t.Fatalf("opa test on one passing and one failing test: %d passed, failures %q", passed, failures)
		}
	})
}
