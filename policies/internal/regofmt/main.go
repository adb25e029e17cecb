// Command regofmt is `opa fmt` for this repository without an opa binary:
// it formats .rego files with OPA's own formatter (the one the tests check
// against).
//
//	go run ./policies/internal/regofmt [-w] [-l] path...
//
// With -l it lists files that are not formatted and exits 1 if there are
// any; with -w it rewrites them; otherwise it prints formatted source.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-policy-agent/opa/v1/format"
)

func main() {
	write := flag.Bool("w", false, "rewrite files in place")
	list := flag.Bool("l", false, "list files whose formatting differs; exit 1 if any")
	flag.Parse()
	unformatted := 0
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out, err := format.Source(path, src)
			if err != nil {
				return fmt.Errorf("format %s: %w", path, err)
			}
			changed := !bytes.Equal(out, src)
			switch {
			case *list:
				if changed {
					fmt.Println(path)
					unformatted++
				}
			case *write:
				if changed {
					return os.WriteFile(path, out, d.Type().Perm()|0o644)
				}
			default:
				_, err = os.Stdout.Write(out)
				return err
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "regofmt:", err)
			os.Exit(2)
		}
	}
	if unformatted > 0 {
		os.Exit(1)
	}
}
