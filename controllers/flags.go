package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ParseNodeSelector reads "key=value[,key=value]".
func ParseNodeSelector(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("node selector %q: want key=value", pair)
		}
		out[k] = v
	}
	return out, nil
}

// ParseTolerations reads tolerations written "key=value:Effect" (operator
// Equal) or "key:Effect" (operator Exists). The effect may be empty
// ("key=value:") to tolerate every effect.
func ParseTolerations(specs []string) ([]corev1.Toleration, error) {
	var out []corev1.Toleration
	for _, spec := range specs {
		kv, effect, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("toleration %q: want key[=value]:Effect", spec)
		}
		t := corev1.Toleration{Effect: corev1.TaintEffect(effect)}
		switch corev1.TaintEffect(effect) {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("toleration %q: effect %q is not NoSchedule, PreferNoSchedule or NoExecute", spec, effect)
		}
		if k, v, hasValue := strings.Cut(kv, "="); hasValue {
			t.Key, t.Operator, t.Value = k, corev1.TolerationOpEqual, v
		} else {
			t.Key, t.Operator = kv, corev1.TolerationOpExists
		}
		if t.Key == "" {
			return nil, fmt.Errorf("toleration %q: the key is empty", spec)
		}
		out = append(out, t)
	}
	return out, nil
}
