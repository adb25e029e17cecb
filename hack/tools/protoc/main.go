// Command protoc compiles .proto files without the protoc binary: bufbuild/protocompile parses
// and links them, and the code generator plugins (protoc-gen-go, protoc-gen-go-grpc, built from
// this module's pinned versions) run on the CodeGeneratorRequest exactly as protoc would run
// them.
//
//	protoc -I DIR -plugin protoc-gen-go=BIN -plugin protoc-gen-go-grpc=BIN -out DIR [-opt PLUGIN=OPT] FILE.proto...
//
// FILE paths are relative to the import directory; outputs are written below -out.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var importDir, out string
	var plugins, opts list
	flag.StringVar(&importDir, "I", ".", "import directory")
	flag.StringVar(&out, "out", ".", "output directory")
	flag.Var(&plugins, "plugin", "NAME=PATH of a plugin to run (repeatable, in order)")
	flag.Var(&opts, "opt", "NAME=PARAMETER for a plugin (repeatable)")
	flag.Parse()
	if err := run(importDir, out, plugins, opts, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "protoc:", err)
		os.Exit(1)
	}
}

func run(importDir, out string, plugins, opts []string, files []string) error {
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{importDir}}),
		SourceInfoMode: protocompile.SourceInfoStandard}
	linked, err := c.Compile(context.Background(), files...)
	if err != nil {
		return err
	}
	// The request holds every file the ones to generate import, dependencies first.
	var protoFiles []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		protoFiles = append(protoFiles, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range linked {
		add(f)
	}
	params := map[string]string{}
	for _, o := range opts {
		name, p, _ := strings.Cut(o, "=")
		params[name] = p
	}
	for _, pl := range plugins {
		name, path, ok := strings.Cut(pl, "=")
		if !ok {
			return fmt.Errorf("-plugin %q: want NAME=PATH", pl)
		}
		req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files, ProtoFile: protoFiles}
		if p := params[name]; p != "" {
			req.Parameter = proto.String(p)
		}
		if err := generate(name, path, req, out); err != nil {
			return err
		}
	}
	return nil
}

func generate(name, path string, req *pluginpb.CodeGeneratorRequest, out string) error {
	in, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	var stdout bytes.Buffer
	cmd := exec.Command(path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("plugin %s: %w", name, err)
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return fmt.Errorf("plugin %s: read its response: %w", name, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("plugin %s: %s", name, resp.GetError())
	}
	for _, f := range resp.File {
		dst := filepath.Join(out, f.GetName())
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
