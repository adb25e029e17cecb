package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// defaultTerminationMessagePath is where a container writes its termination
// message when the spec does not say otherwise (the Kubernetes default).
const defaultTerminationMessagePath = "/dev/termination-log"

// pathMapping maps one absolute path inside a "container" (a volume mountPath
// or the termination message path) to a path on this machine.
type pathMapping struct {
	containerPath string
	localPath     string
}

// pathRewriter rewrites container paths in arguments and environment values
// to local paths. The rule, applied to each argument and each environment
// value on its own:
//
//   - a value equal to a mapped container path, or starting with it followed
//     by "/", has that prefix replaced by the local path;
//   - otherwise, a value of the form "name=value" (for example
//     "--out=/reports/r.json") has its part after the first "=" rewritten by
//     the same rule;
//   - when several mapped paths match, the longest wins, so a mount at
//     /data/models takes precedence over one at /data.
//
// Anything else is left untouched: the process sees the same string the
// container would have seen.
type pathRewriter struct {
	mappings []pathMapping // longest containerPath first
}

func newPathRewriter(mappings []pathMapping) pathRewriter {
	sorted := append([]pathMapping(nil), mappings...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return len(sorted[i].containerPath) > len(sorted[j].containerPath)
	})
	return pathRewriter{mappings: sorted}
}

// rewrite applies the rule documented on pathRewriter to one value.
func (r pathRewriter) rewrite(s string) string {
	if out, ok := r.rewritePath(s); ok {
		return out
	}
	if i := strings.Index(s, "="); i > 0 {
		if out, ok := r.rewritePath(s[i+1:]); ok {
			return s[:i+1] + out
		}
	}
	return s
}

func (r pathRewriter) rewritePath(s string) (string, bool) {
	for _, m := range r.mappings {
		cp := strings.TrimSuffix(m.containerPath, "/")
		if cp == "" {
			continue // a mount at "/" would swallow every path; never rewrite it
		}
		if s == cp || strings.HasPrefix(s, cp+"/") {
			return m.localPath + s[len(cp):], true
		}
	}
	return "", false
}

// BinaryMap maps the first word of a container command to a local executable.
// A key "rai" matches the words "rai", "/rai" and any absolute path whose base
// name is "rai" (for example "/usr/local/bin/rai"), because a runtime image
// would put the binary at such a path.
type BinaryMap map[string]string

// resolve returns the local executable for a command's first word: the
// mapped binary when the word matches a key, else the word itself looked up
// on this machine's PATH (or used as is when absolute).
func (m BinaryMap) resolve(word string) (string, error) {
	if word == "" {
		return "", fmt.Errorf("empty command")
	}
	key := word
	if filepath.IsAbs(word) {
		key = filepath.Base(word)
	}
	if local, ok := m[key]; ok {
		if _, err := os.Stat(local); err != nil {
			return "", fmt.Errorf("command %q maps to %s, which is not usable: %w", word, local, err)
		}
		return local, nil
	}
	if filepath.IsAbs(word) {
		if _, err := os.Stat(word); err != nil {
			return "", fmt.Errorf("command %q does not exist on this machine and matches no --binary-map entry: %w", word, err)
		}
		return word, nil
	}
	path, err := exec.LookPath(word)
	if err != nil {
		return "", fmt.Errorf("command %q is not on PATH and matches no --binary-map entry: %w", word, err)
	}
	return path, nil
}

// ParseBinaryMap parses "name=/local/path" entries, as given to --binary-map.
func ParseBinaryMap(entries []string) (BinaryMap, error) {
	m := BinaryMap{}
	for _, e := range entries {
		name, path, ok := strings.Cut(e, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("binary map entry %q: want name=/path/to/binary", e)
		}
		if strings.Contains(name, "/") {
			return nil, fmt.Errorf("binary map entry %q: the name is a command's base name and cannot contain '/'", e)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("binary map entry %q: %w", e, err)
		}
		m[name] = abs
	}
	return m, nil
}

// launchPlan is everything needed to start one container as a local process.
type launchPlan struct {
	path            string   // executable
	args            []string // argv, args[0] is the command word as written
	env             []string // KEY=VALUE
	dir             string   // working directory
	logPath         string   // stdout and stderr, appended
	terminationPath string   // local file standing in for terminationMessagePath
}

// containerDirs are the local directories a container's plan refers to.
type containerDirs struct {
	work string // working directory and HOME
	tmp  string // TMPDIR
	logs string // directory holding <container>.log
	term string // directory holding <container>.termination-log
}

// planContainer builds the launch plan for container c of pod. volumes maps a
// pod volume name to its local directory (see podVolumePaths); baseEnv is
// the environment every container starts from (an image's environment, in
// effect), overridden by the container's own env, whose values the pod
// controller has already resolved (valueFrom included).
func planContainer(pod *corev1.Pod, c *corev1.Container, volumes map[string]string, dirs containerDirs, binaries BinaryMap, baseEnv []string) (launchPlan, error) {
	words := append(append([]string(nil), c.Command...), c.Args...)
	if len(c.Command) == 0 {
		return launchPlan{}, fmt.Errorf("container %q has no command: the local node runs no images, so the pod must spell out the command to run", c.Name)
	}

	if rp := c.ReadinessProbe; rp != nil {
		var err error
		switch {
		case rp.HTTPGet != nil:
			_, err = resolvePort(c, rp.HTTPGet.Port)
		case rp.TCPSocket != nil:
			_, err = resolvePort(c, rp.TCPSocket.Port)
		}
		if err != nil {
			return launchPlan{}, fmt.Errorf("readiness probe: %w", err)
		}
	}

	termPath := c.TerminationMessagePath
	if termPath == "" {
		termPath = defaultTerminationMessagePath
	}
	localTerm := filepath.Join(dirs.term, c.Name+".termination-log")
	mappings := []pathMapping{{containerPath: termPath, localPath: localTerm}}
	for _, vm := range c.VolumeMounts {
		local, ok := volumes[vm.Name]
		if !ok {
			return launchPlan{}, fmt.Errorf("container %q mounts volume %q, which the pod does not declare", c.Name, vm.Name)
		}
		if vm.SubPath != "" {
			if filepath.IsAbs(vm.SubPath) || strings.Contains(vm.SubPath, "..") {
				return launchPlan{}, fmt.Errorf("container %q mounts %q with subPath %q: must be a relative path without '..'", c.Name, vm.Name, vm.SubPath)
			}
			local = filepath.Join(local, vm.SubPath)
		}
		if !filepath.IsAbs(vm.MountPath) {
			return launchPlan{}, fmt.Errorf("container %q mounts %q at %q: mountPath must be absolute", c.Name, vm.Name, vm.MountPath)
		}
		mappings = append(mappings, pathMapping{containerPath: filepath.Clean(vm.MountPath), localPath: local})
	}
	rw := newPathRewriter(mappings)

	// Environment: base, then the container's own values, rewritten. Later
	// entries win, as with exec's duplicate handling.
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range baseEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	set("HOME", dirs.work)
	set("TMPDIR", dirs.tmp)
	set("HOSTNAME", pod.Name)
	for _, e := range c.Env {
		set(e.Name, rw.rewrite(expandVars(e.Value, vars)))
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}

	argv := make([]string, len(words))
	for i, w := range words {
		w = expandVars(w, vars)
		if i > 0 {
			w = rw.rewrite(w)
		}
		argv[i] = w
	}
	path, err := binaries.resolve(argv[0])
	if err != nil {
		return launchPlan{}, fmt.Errorf("container %q: %w", c.Name, err)
	}

	dir := dirs.work
	if c.WorkingDir != "" {
		if mapped, ok := rw.rewritePath(filepath.Clean(c.WorkingDir)); ok {
			dir = mapped
		}
		// A working dir outside every mount lives in the image; the per-pod
		// work directory stands in for it.
	}

	return launchPlan{
		path:            path,
		args:            argv,
		env:             env,
		dir:             dir,
		logPath:         filepath.Join(dirs.logs, c.Name+".log"),
		terminationPath: localTerm,
	}, nil
}

// expandVars expands $(VAR) references the way the kubelet does for command,
// args and env values: a defined variable is replaced by its value, "$$" is an
// escaped "$", and an undefined reference is left as written.
func expandVars(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
