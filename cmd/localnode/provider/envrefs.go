package provider

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// resolveEnvRefs replaces, in every container of pod, an environment
// variable taken from a Secret's or ConfigMap's key (valueFrom
// secretKeyRef / configMapKeyRef) by its value, as the kubelet does when it
// starts the container: an optional reference to what is missing is
// dropped, a required one is an error naming it (the kubelet's
// CreateContainerConfigError). Other valueFrom sources are left alone.
func resolveEnvRefs(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) error {
	secrets := map[string]*corev1.Secret{}
	configMaps := map[string]*corev1.ConfigMap{}
	lookup := func(kind, name string, optional bool, get func() (map[string]string, error), key string) (string, bool, error) {
		data, err := get()
		if err != nil {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("%s %q: %w", kind, name, err)
		}
		v, ok := data[key]
		if !ok && !optional {
			return "", false, fmt.Errorf("couldn't find key %s in %s %s/%s", key, kind, pod.Namespace, name)
		}
		return v, ok, nil
	}
	resolve := func(cs []corev1.Container) error {
		for i := range cs {
			var env []corev1.EnvVar
			for _, e := range cs[i].Env {
				var (
					v   string
					ok  = true
					err error
				)
				switch f := e.ValueFrom; {
				case f != nil && f.SecretKeyRef != nil:
					ref := f.SecretKeyRef
					v, ok, err = lookup("Secret", ref.Name, ref.Optional != nil && *ref.Optional, func() (map[string]string, error) {
						s, found := secrets[ref.Name]
						if !found {
							got, err := c.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
							if err != nil {
								return nil, err
							}
							secrets[ref.Name], s = got, got
						}
						out := map[string]string{}
						for k, b := range s.Data {
							out[k] = string(b)
						}
						for k, x := range s.StringData {
							out[k] = x
						}
						return out, nil
					}, ref.Key)
				case f != nil && f.ConfigMapKeyRef != nil:
					ref := f.ConfigMapKeyRef
					v, ok, err = lookup("ConfigMap", ref.Name, ref.Optional != nil && *ref.Optional, func() (map[string]string, error) {
						cm, found := configMaps[ref.Name]
						if !found {
							got, err := c.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
							if err != nil {
								return nil, err
							}
							configMaps[ref.Name], cm = got, got
						}
						return cm.Data, nil
					}, ref.Key)
				default:
					env = append(env, e)
					continue
				}
				if err != nil {
					return fmt.Errorf("container %q: env %s: %w", cs[i].Name, e.Name, err)
				}
				if ok {
					env = append(env, corev1.EnvVar{Name: e.Name, Value: v})
				}
			}
			cs[i].Env = env
		}
		return nil
	}
	if err := resolve(pod.Spec.InitContainers); err != nil {
		return err
	}
	return resolve(pod.Spec.Containers)
}
