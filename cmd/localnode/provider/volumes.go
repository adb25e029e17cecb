package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podVolumePaths returns volume name → local directory for every volume of
// the pod, without touching the disk: emptyDir, configMap, secret and
// projected volumes live under volumesDir/<name>, a hostPath volume is the
// host path itself (it is local already). Any other volume type is an error
// naming the volume, so that a pod this node cannot honour fails with a
// message rather than running without its data.
func podVolumePaths(pod *corev1.Pod, volumesDir string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.HostPath != nil:
			out[v.Name] = v.HostPath.Path
		case v.EmptyDir != nil, v.ConfigMap != nil, v.Secret != nil, v.Projected != nil:
			out[v.Name] = filepath.Join(volumesDir, v.Name)
		default:
			return nil, fmt.Errorf("volume %q: unsupported volume type on the local node (supported: emptyDir, configMap, secret, hostPath, projected)", v.Name)
		}
	}
	return out, nil
}

// errVolumeSourceMissing marks a fillPodVolumes failure that may go away: a
// ConfigMap or Secret the pod needs does not exist (yet). The kubelet keeps
// such a pod in ContainerCreating and retries; so does the provider.
var errVolumeSourceMissing = errors.New("volume source missing")

// fillPodVolumes creates and fills the directories podVolumePaths named:
//
//   - emptyDir: an empty directory (medium and size limit are ignored);
//   - configMap and secret: one file per key (or per listed item), with
//     the item's mode when given; a missing object that is not optional is
//     an error wrapping errVolumeSourceMissing;
//   - projected: configMap and secret sources are written as above; other
//     sources (service account tokens, downward API, cluster trust bundles)
//     are skipped, and so is a missing configMap/secret source, since the
//     only projected volume most pods have is the automatically injected API
//     access volume, which a local process does not use.
func fillPodVolumes(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, paths map[string]string) error {
	missing := func(err error) error {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: %w", errVolumeSourceMissing, err)
		}
		return err
	}
	for _, v := range pod.Spec.Volumes {
		dir := paths[v.Name]
		switch {
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("volume %q: %w", v.Name, err)
			}
		case v.ConfigMap != nil:
			data, err := configMapData(ctx, client, pod.Namespace, v.ConfigMap.Name)
			if err != nil && !(apierrors.IsNotFound(err) && optional(v.ConfigMap.Optional)) {
				return fmt.Errorf("volume %q: %w", v.Name, missing(err))
			}
			if err := writeKeys(dir, data, itemsIfFound(v.ConfigMap.Items, err), v.ConfigMap.DefaultMode); err != nil {
				return fmt.Errorf("volume %q: configMap %q: %w", v.Name, v.ConfigMap.Name, err)
			}
		case v.Secret != nil:
			data, err := secretData(ctx, client, pod.Namespace, v.Secret.SecretName)
			if err != nil && !(apierrors.IsNotFound(err) && optional(v.Secret.Optional)) {
				return fmt.Errorf("volume %q: %w", v.Name, missing(err))
			}
			if err := writeKeys(dir, data, itemsIfFound(v.Secret.Items, err), v.Secret.DefaultMode); err != nil {
				return fmt.Errorf("volume %q: secret %q: %w", v.Name, v.Secret.SecretName, err)
			}
		case v.Projected != nil:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("volume %q: %w", v.Name, err)
			}
			for _, src := range v.Projected.Sources {
				var data map[string][]byte
				var items []corev1.KeyToPath
				var err error
				switch {
				case src.ConfigMap != nil:
					data, err = configMapData(ctx, client, pod.Namespace, src.ConfigMap.Name)
					items = src.ConfigMap.Items
				case src.Secret != nil:
					data, err = secretData(ctx, client, pod.Namespace, src.Secret.Name)
					items = src.Secret.Items
				default:
					continue
				}
				if apierrors.IsNotFound(err) {
					continue
				}
				if err != nil {
					return fmt.Errorf("volume %q: %w", v.Name, err)
				}
				if err := writeKeys(dir, data, items, v.Projected.DefaultMode); err != nil {
					return fmt.Errorf("volume %q: %w", v.Name, err)
				}
			}
		}
	}
	return nil
}

func optional(b *bool) bool { return b != nil && *b }

// itemsIfFound drops the item list of an optional object that does not
// exist: the volume is then an empty directory, as in the kubelet.
func itemsIfFound(items []corev1.KeyToPath, getErr error) []corev1.KeyToPath {
	if getErr != nil {
		return nil
	}
	return items
}

func configMapData(ctx context.Context, client kubernetes.Interface, ns, name string) (map[string][]byte, error) {
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get configMap %s/%s: %w", ns, name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

func secretData(ctx context.Context, client kubernetes.Interface, ns, name string) (map[string][]byte, error) {
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", ns, name, err)
	}
	return s.Data, nil
}

// writeKeys writes data into dir: every key as a file when items is empty,
// else only the listed keys at their paths (a listed key that is missing is
// an error, as in the kubelet).
func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		content, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %q not found", it.Key)
		}
		if filepath.IsAbs(it.Path) || strings.Contains(it.Path, "..") {
			return fmt.Errorf("item path %q must be relative without '..'", it.Path)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		p := filepath.Join(dir, it.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// Owner read (and write, to allow re-writing) regardless of the
		// requested mode: the files belong to the agent's own user.
		if err := os.WriteFile(p, content, m|0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, m|0o600); err != nil {
			return err
		}
	}
	return nil
}
