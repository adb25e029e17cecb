package provider

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// TestResolveEnvRefs: a Secret's and a ConfigMap's keys become values; a
// missing optional reference is dropped; a missing required one is an
// error naming the key, as the kubelet's CreateContainerConfigError.
func TestResolveEnvRefs(t *testing.T) {
	c := fake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: "ns"}, Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("key"), "AWS_SECRET_ACCESS_KEY": []byte("secret")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"region": "eu-1"}},
	)
	ref := func(name, key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr.To(optional)}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{
		{Name: "PLAIN", Value: "x"},
		{Name: "AWS_ACCESS_KEY_ID", ValueFrom: ref("s3", "AWS_ACCESS_KEY_ID", false)},
		{Name: "AWS_SECRET_ACCESS_KEY", ValueFrom: ref("s3", "AWS_SECRET_ACCESS_KEY", false)},
		{Name: "REGION", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "region"}}},
		{Name: "MAYBE", ValueFrom: ref("absent", "k", true)},
	}}}}}
	if err := resolveEnvRefs(context.Background(), c, pod); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.ValueFrom != nil {
			t.Errorf("%s still has valueFrom", e.Name)
		}
		got[e.Name] = e.Value
	}
	want := map[string]string{"PLAIN": "x", "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "REGION": "eu-1"}
	if len(got) != len(want) {
		t.Errorf("env %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{
		{Name: "K", ValueFrom: ref("s3", "NOPE", false)}}}}}}
	if err := resolveEnvRefs(context.Background(), c, bad); err == nil || !strings.Contains(err.Error(), "couldn't find key NOPE in Secret ns/s3") {
		t.Errorf("missing key: %v", err)
	}
}
