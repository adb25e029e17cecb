// Package onnx wraps onnxruntime (through github.com/yalue/onnxruntime_go) for the rai runtime:
// it finds and initialises the shared library once per process, loads models into sessions on
// the CPU or CUDA execution provider, describes their inputs, outputs and metadata, and runs
// batched float32 inference (Run, Runner) or a run on named INT64 and FP32 inputs (RunInputs,
// for text models' input_ids and attention_mask).
//
// Only the rai binary and its runtime packages may import this package: it needs cgo and the
// onnxruntime shared library, and the operator's manager stays pure Go.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that holds the path of libonnxruntime.so.1.
const LibraryEnv = "RAI_ONNXRUNTIME_LIB"

// libraryRelPath is where `make onnxruntime` places the library, relative to the repository root.
const libraryRelPath = "bin/onnxruntime/libonnxruntime.so.1"

// ErrLibraryNotFound is returned (wrapped) when no onnxruntime library can be found.
var ErrLibraryNotFound = errors.New("onnxruntime library not found: run make onnxruntime or set " + LibraryEnv)

var (
	envMu      sync.Mutex
	envLibPath string // the library the environment was initialised with; "" until then
)

// Init initialises the onnxruntime environment for the process, once. The library is, in order:
// libPath when not empty; the file named by $RAI_ONNXRUNTIME_LIB; bin/onnxruntime/libonnxruntime.so.1
// in the working directory or a parent of it up to the repository root (the first directory with
// go.mod); libonnxruntime.so.1 or onnxruntime/libonnxruntime.so.1 beside the executable.
//
// A failed Init may be retried (for example with another path). Once initialised, later calls
// return nil and keep the first library: onnxruntime cannot be loaded twice into one process.
// The environment lives until the process exits.
func Init(libPath string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envLibPath != "" {
		return nil
	}
	path, err := FindLibrary(libPath)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(path)
	// onnxruntime's Linux build has telemetry on: it writes under $HOME and
	// /tmp and reads /etc/machine-id, and where that is missing (distroless
	// images, pods) it shells out to make one up, and with no shell it
	// crashed rai before any model loaded. Off, unless the caller says.
	if _, set := os.LookupEnv("ORT_DISABLE_TELEMETRY"); !set {
		_ = os.Setenv("ORT_DISABLE_TELEMETRY", "1")
	}
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initialise onnxruntime from %s: %w", path, err)
	}
	envLibPath = path
	return nil
}

// LibraryPath returns the library the environment was initialised with, or "" before Init.
func LibraryPath() string {
	envMu.Lock()
	defer envMu.Unlock()
	return envLibPath
}

// FindLibrary resolves the onnxruntime library path the way Init does, without loading it. An
// explicit path (argument or environment) that does not exist is an error naming it; when the
// search finds nothing the error wraps ErrLibraryNotFound and lists the places it looked.
func FindLibrary(libPath string) (string, error) {
	if libPath != "" {
		return checkFile(libPath, "onnxruntime library")
	}
	if p := os.Getenv(LibraryEnv); p != "" {
		return checkFile(p, "$"+LibraryEnv)
	}
	var tried []string
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			candidate := filepath.Join(dir, libraryRelPath)
			tried = append(tried, candidate)
			if isFile(candidate) {
				return candidate, nil
			}
			parent := filepath.Dir(dir)
			if isFile(filepath.Join(dir, "go.mod")) || parent == dir {
				break
			}
			dir = parent
		}
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, candidate := range []string{
			filepath.Join(dir, "libonnxruntime.so.1"),
			filepath.Join(dir, "onnxruntime", "libonnxruntime.so.1"),
		} {
			tried = append(tried, candidate)
			if isFile(candidate) {
				return candidate, nil
			}
		}
	}
	return "", fmt.Errorf("%w (looked in %v)", ErrLibraryNotFound, tried)
}

func checkFile(path, what string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", what, path, err)
	}
	if !isFile(abs) {
		return "", fmt.Errorf("%s %q does not exist or is not a file: %w", what, path, ErrLibraryNotFound)
	}
	return abs, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
