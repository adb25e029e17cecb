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

// runRegoTests runs the Rego unit tests (test_* rules) found in modules with
// OPA's test runner, each as a Go subtest named package.rule, and returns
// how many ran. A failing or erroring Rego test fails its subtest.
func runRegoTests(t *testing.T, modules map[string]string, data map[string]any) int {
	t.Helper()
	parsed := map[string]*ast.Module{}
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		parsed[name] = m
	}
	if data == nil {
		data = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, err := tester.NewRunner().
		SetStore(inmem.NewFromObject(data)).
		SetModules(parsed).
		SetTimeout(10*time.Second).
		SetParallel(2).
		RaiseBuiltinErrors(false).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("compile Rego tests: %v", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return strings.Compare(a.Package+"."+a.Name, b.Package+"."+b.Name)
	})
	for _, r := range results {
		t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
			switch {
			case r.Error != nil:
				t.Errorf("%s: error: %v\n%s", r.Location, r.Error, r.Output)
			case r.Fail:
				t.Errorf("%s: FAIL (failed at %v)\n%s", r.Location, r.FailedAt, r.Output)
			case r.Skip:
				t.Skipf("%s: skipped (todo_ prefix)", r.Location)
			}
		})
	}
	return len(results)
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
