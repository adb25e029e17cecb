package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPodVolumePaths(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "demo", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/repo/_output/demo"}}},
	}}}
	paths, err := podVolumePaths(pod, "/state/volumes")
	if err != nil {
		t.Fatal(err)
	}
	if paths["scratch"] != "/state/volumes/scratch" || paths["demo"] != "/repo/_output/demo" {
		t.Errorf("paths = %v", paths)
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"},
	}})
	if _, err := podVolumePaths(pod, "/state/volumes"); err == nil || !strings.Contains(err.Error(), `volume "data": unsupported`) {
		t.Errorf("PVC volume: err = %v, want unsupported naming the volume", err)
	}
}

func TestFillPodVolumes(t *testing.T) {
	client := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"a": "1", "b": "2"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec", Namespace: "ns"}, Data: map[string][]byte{"token": []byte("s3cret")}},
	)
	mode := int32(0o640)
	vols := []corev1.Volume{
		{Name: "all", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "some", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
			Items:                []corev1.KeyToPath{{Key: "b", Path: "sub/renamed", Mode: &mode}},
		}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
		{Name: "opt", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptrTo(true),
			Items: []corev1.KeyToPath{{Key: "x", Path: "x"}},
		}}},
		{Name: "api", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "a", Path: "a"}}}},
		}}}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Volumes: vols}}
	dir := t.TempDir()
	paths, err := podVolumePaths(pod, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := fillPodVolumes(context.Background(), client, pod, paths); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"all/a": "1", "all/b": "2", "some/sub/renamed": "2", "sec/token": "s3cret", "api/a": "1",
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "some/sub/renamed")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("item mode = %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	for _, absent := range []string{"some/a", "opt/x", "api/token"} {
		if _, err := os.Stat(filepath.Join(dir, absent)); !os.IsNotExist(err) {
			t.Errorf("%s exists, want it absent", absent)
		}
	}

	pod.Spec.Volumes = []corev1.Volume{{Name: "req", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}}}
	paths, _ = podVolumePaths(pod, dir)
	err = fillPodVolumes(context.Background(), client, pod, paths)
	if !errors.Is(err, errVolumeSourceMissing) || !strings.Contains(err.Error(), `"absent"`) {
		t.Errorf("required missing ConfigMap: err = %v, want errVolumeSourceMissing naming it", err)
	}
}
