package policies

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// regoTestParserOptions parse test modules as the opa CLI does for `opa
// test` and `opa check`: Rego v1, with METADATA annotations processed, so
// that what the CLI rejects (say a package annotation redeclared in a second
// file of the package) fails the Go runner too.
var regoTestParserOptions = ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true}

// runRegoTests runs the Rego unit tests (test_* rules) found in modules with
// OPA's test runner, each as a Go subtest named package.rule, and returns
// how many ran. A failing or erroring Rego test fails its subtest.
func runRegoTests(t *testing.T, modules map[string]string, data map[string]any) int {
	t.Helper()
	parsed := map[string]*ast.Module{}
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, regoTestParserOptions)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		parsed[name] = m
	}
	if data == nil {
		data = map[string]any{}
	}
	results, err := regoTestResults(parsed, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
			if msg := regoFailure(r); msg != "" {
				t.Error(msg)
			}
		})
	}
	return len(results)
}

// regoFailure describes a failed or erroring Rego test, or returns "".
func regoFailure(r *tester.Result) string {
	switch {
	case r.Error != nil:
		return fmt.Sprintf("%s: %s: error: %v\n%s", r.Location, r.Name, r.Error, r.Output)
	case r.Fail:
		return fmt.Sprintf("%s: %s: FAIL\n%s", r.Location, r.Name, r.Output)
	}
	return ""
}

// regoTestResults runs the test_* rules of modules with OPA's test runner
// and returns the results sorted by package and name.
func regoTestResults(modules map[string]*ast.Module, data map[string]any) ([]*tester.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, err := tester.NewRunner().
		SetStore(inmem.NewFromObject(data)).
		SetModules(modules).
		SetTimeout(10*time.Second).
		SetParallel(2).
		RaiseBuiltinErrors(false).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compile Rego tests: %w", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return strings.Compare(a.Package+"."+a.Name, b.Package+"."+b.Name)
	})
	return results, nil
}

// TestRegoRunnerReportsFailures checks the plumbing above: a failing and an
// erroring Rego test are reported with their names, a passing one is not.
func TestRegoRunnerReportsFailures(t *testing.T) {
	m, err := ast.ParseModuleWithOpts("x_test.rego", `package x_test

test_passes if 1 == 1

test_fails if 1 == 2

f(x) := 1 if x > 0

f(x) := 2 if x > 0

test_errors if f(1) == 1
`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	results, err := regoTestResults(map[string]*ast.Module{"x_test.rego": m}, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range results {
		got[r.Name] = regoFailure(r)
	}
	if len(got) != 3 || got["test_passes"] != "" ||
		!strings.Contains(got["test_fails"], "test_fails: FAIL") ||
		!strings.Contains(got["test_errors"], "test_errors: error") {
		t.Fatalf("failures by test: %q", got)
	}
}

// TestRegoRunnerRejectsRedeclaredPackageAnnotation checks that the Go runner,
// like `opa test`, refuses two package-scoped METADATA blocks in one package.
func TestRegoRunnerRejectsRedeclaredPackageAnnotation(t *testing.T) {
	parsed := map[string]*ast.Module{}
	for name, src := range map[string]string{
		"a.rego":      "# METADATA\n# title: A\npackage x\n\na := 1\n",
		"b.rego":      "# METADATA\n# title: B\npackage x\n\nb := 2\n",
		"x_test.rego": "package x_test\n\ntest_passes if 1 == 1\n",
	} {
		m, err := ast.ParseModuleWithOpts(name, src, regoTestParserOptions)
		if err != nil {
			t.Fatal(err)
		}
		parsed[name] = m
	}
	_, err := regoTestResults(parsed, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "package annotation redeclared") {
		t.Fatalf("two package annotations in package x: error %v, want package annotation redeclared", err)
	}
}

// TestDefaultPolicyRego runs the default policy's Rego unit tests.
func TestDefaultPolicyRego(t *testing.T) {
	tests, err := defaultTests()
	if err != nil {
		t.Fatal(err)
	}
	modules := Default().Modules
	maps.Copy(modules, tests)
	if n := runRegoTests(t, modules, nil); n < 40 {
		t.Errorf("ran %d Rego tests, want at least 40: were test files dropped?", n)
	}
}

// codePattern finds the violation codes a Rego module emits.
var codePattern = regexp.MustCompile(`"code":\s*"([A-Za-z]+)"`)

// TestEveryDefaultCodeIsTested checks that each violation code of the
// default policy is asserted by at least one Rego test, so that a new rule
// cannot ship untested.
func TestEveryDefaultCodeIsTested(t *testing.T) {
	tests, err := defaultTests()
	if err != nil {
		t.Fatal(err)
	}
	var testSrc strings.Builder
	for _, src := range tests {
		testSrc.WriteString(src)
	}
	codes := map[string]bool{}
	for _, src := range Default().Modules {
		for _, m := range codePattern.FindAllStringSubmatch(src, -1) {
			codes[m[1]] = true
		}
	}
	if len(codes) < 15 {
		t.Fatalf("found %d violation codes in the default policy, want at least 15", len(codes))
	}
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		if !strings.Contains(testSrc.String(), fmt.Sprintf("%q", code)) {
			t.Errorf("violation code %s has no Rego test", code)
		}
	}
}

// TestRegoIsFormatted checks that every shipped .rego file (policy, tests,
// examples) is what `opa fmt` would write.
func TestRegoIsFormatted(t *testing.T) {
	files, err := filepath.Glob("*/*.rego")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*/*.rego")
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("found %d .rego files, want at least 8", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := format.Source(f, src)
		if err != nil {
			t.Errorf("opa fmt %s: %v", f, err)
			continue
		}
		if string(want) != string(src) {
			t.Errorf("%s is not opa fmt clean; run `make fmt-rego`", f)
		}
	}
}
