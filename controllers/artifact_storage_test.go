package controllers

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// withS3 puts the model and its dataset in S3, read with the Secret secret.
func withS3(secret string) modelOption {
	return func(m *raiv1.ResponsibleModel) {
		m.Spec.Model.URI = "s3://models/credit/v1/model.onnx"
		m.Spec.Evaluations.Dataset.URI = "s3://datasets/credit/eval.csv"
		m.Spec.Storage = &raiv1.StorageSpec{S3: &raiv1.S3Storage{
			Endpoint: "http://seaweedfs.storage.svc:8333", PathStyle: true,
			CredentialsSecretRef: &raiv1.LocalObjectReference{Name: secret},
		}}
	}
}

// secretEnv is an environment variable read from key of Secret name.
func secretEnv(env, name string, optional bool) corev1.EnvVar {
	return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: env, Optional: &optional}}}
}

func TestStorageEnvReachesServingAndEvaluationPods(t *testing.T) {
	m := newModel("ns", "credit", withS3("model-store"), func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25"}
	})
	want := []corev1.EnvVar{
		{Name: contract.EnvS3Region, Value: "us-east-1"},
		{Name: contract.EnvS3Endpoint, Value: "http://seaweedfs.storage.svc:8333"},
		{Name: contract.EnvS3PathStyle, Value: "true"},
		secretEnv("AWS_ACCESS_KEY_ID", "model-store", false),
		secretEnv("AWS_SECRET_ACCESS_KEY", "model-store", false),
		secretEnv("AWS_SESSION_TOKEN", "model-store", true),
	}
	served := servedModel{Version: "v1", URI: string(m.Spec.Model.URI), SHA256: sha(1)}
	containers := map[string]corev1.Container{
		"serving":    buildServingDeployment(m, served, "rai:1").Spec.Template.Spec.Containers[0],
		"fairness":   buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}).Spec.Template.Spec.Containers[0],
		"robustness": buildEvaluationJob(m, report.KindRobustness, EvaluationJobOptions{Image: "rai:1"}).Spec.Template.Spec.Containers[0],
	}
	for name, c := range containers {
		for _, w := range want {
			i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == w.Name })
			if i < 0 {
				t.Errorf("%s: no %s in the environment", name, w.Name)
				continue
			}
			if !equality.Semantic.DeepEqual(c.Env[i], w) {
				t.Errorf("%s: %s = %+v, want %+v", name, w.Name, c.Env[i], w)
			}
		}
		if len(c.EnvFrom) != 0 {
			t.Errorf("%s: the whole Secret is imported (envFrom): only its credential keys should be", name)
		}
	}
	if !slices.Contains(containers["fairness"].Args, "s3://datasets/credit/eval.csv") || !slices.Contains(containers["serving"].Args, "s3://models/credit/v1/model.onnx") {
		t.Errorf("the s3:// URIs are not passed as they are:\n%v\n%v", containers["fairness"].Args, containers["serving"].Args)
	}

	// Without spec.storage, no S3 environment; a region still defaults.
	plain := newModel("ns", "credit")
	for _, c := range []corev1.Container{
		buildServingDeployment(plain, served, "rai:1").Spec.Template.Spec.Containers[0],
		buildEvaluationJob(plain, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}).Spec.Template.Spec.Containers[0],
	} {
		for _, e := range c.Env {
			if e.Name != "TMPDIR" {
				t.Errorf("a model without spec.storage gets %s", e.Name)
			}
		}
	}
	anonymous := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Storage = &raiv1.StorageSpec{S3: &raiv1.S3Storage{}}
	})
	env := buildEvaluationJob(anonymous, report.KindFairness, EvaluationJobOptions{}).Spec.Template.Spec.Containers[0].Env
	if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
		return e.Name == contract.EnvS3Region && e.Value == contract.DefaultS3Region
	}) || slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.ValueFrom != nil }) {
		t.Errorf("anonymous S3 storage: %+v", env)
	}
}

// hasCache reports whether a pod mounts hostPath as the artifact cache of container.
func hasCache(spec corev1.PodSpec, container, hostPath string) bool {
	vol := slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
		return v.Name == artifactCacheVolume && v.HostPath != nil && v.HostPath.Path == hostPath
	})
	for _, c := range spec.Containers {
		if c.Name == container {
			return vol && slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == artifactCacheVolume && m.MountPath == contract.ArtifactCacheMountPath
			}) &&
				slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
					return e.Name == contract.EnvArtifactCache && e.Value == contract.ArtifactCacheMountPath+"/$("+podNamespaceEnv+")"
				}) &&
				definedBefore(c.Env, podNamespaceEnv, contract.EnvArtifactCache)
		}
	}
	return false
}

func TestArtifactCacheIsMountedWhenConfigured(t *testing.T) {
	const hostPath = "/var/cache/rai-artifacts"
	m := newModel("ns", "credit", withS3("model-store"))
	opts := EvaluationJobOptions{Image: "rai:1", ArtifactCacheHostPath: hostPath}
	if job := buildEvaluationJob(m, report.KindFairness, opts); !hasCache(job.Spec.Template.Spec, evaluateContainer, hostPath) {
		t.Errorf("the evaluation pod does not mount the cache: %+v", job.Spec.Template.Spec)
	}
	if job := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}); slices.ContainsFunc(job.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil }) {
		t.Errorf("a hostPath volume without a configured cache")
	}

	// The serving Deployment gets it where the reconciler applies it.
	r := &ResponsibleModelReconciler{
		Client:         fake.NewClientBuilder().WithScheme(testenv.Scheme()).Build(),
		Scheme:         testenv.Scheme(),
		EvaluationJobs: opts,
	}
	served := servedModel{Version: "v1", URI: string(m.Spec.Model.URI), SHA256: sha(1)}
	if _, err := r.applyDeployment(context.Background(), m, served); err != nil {
		t.Fatal(err)
	}
	got := &appsv1.Deployment{}
	if err := r.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: servingName("credit")}, got); err != nil {
		t.Fatal(err)
	}
	if !hasCache(got.Spec.Template.Spec, serveContainer, hostPath) {
		t.Errorf("the serving pods do not mount the cache: %+v", got.Spec.Template.Spec)
	}
	// A second apply of the same digest changes nothing (no rollout).
	again, err := r.applyDeployment(context.Background(), m, served)
	if err != nil || again.ResourceVersion != got.ResourceVersion {
		t.Errorf("re-applying the same model rewrote the Deployment (%v)", err)
	}
}

// definedBefore reports whether env defines first, from the pod's
// namespace, before second, which expands it.
func definedBefore(env []corev1.EnvVar, first, second string) bool {
	i := slices.IndexFunc(env, func(e corev1.EnvVar) bool {
		return e.Name == first && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	})
	j := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == second })
	return i >= 0 && i < j
}

func TestCABundleIsMounted(t *testing.T) {
	m := newModel("ns", "credit", withS3("model-store"), func(m *raiv1.ResponsibleModel) {
		m.Spec.Storage.S3.Endpoint = "https://minio.storage.svc:9000"
		m.Spec.Storage.S3.CABundle = &raiv1.ConfigMapKeyReference{Name: "store-ca", Key: "root.pem"}
	})
	check := func(what string, spec corev1.PodSpec, container string) {
		t.Helper()
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == s3CABundleVolume })
		if i < 0 || spec.Volumes[i].ConfigMap == nil || spec.Volumes[i].ConfigMap.Name != "store-ca" ||
			len(spec.Volumes[i].ConfigMap.Items) != 1 || spec.Volumes[i].ConfigMap.Items[0] != (corev1.KeyToPath{Key: "root.pem", Path: contract.S3CABundleFile}) {
			t.Errorf("%s: no CA bundle volume from ConfigMap store-ca key root.pem: %+v", what, spec.Volumes)
			return
		}
		c := spec.Containers[slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == container })]
		if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
			return vm.Name == s3CABundleVolume && vm.MountPath == contract.S3CABundleMountPath && vm.ReadOnly
		}) || !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == contract.EnvS3CABundle && e.Value == contract.S3CABundleMountPath+"/"+contract.S3CABundleFile
		}) {
			t.Errorf("%s: the container does not get the CA bundle: %+v %+v", what, c.VolumeMounts, c.Env)
		}
	}
	check("evaluation", buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}).Spec.Template.Spec, evaluateContainer)

	r := &ResponsibleModelReconciler{Client: fake.NewClientBuilder().WithScheme(testenv.Scheme()).Build(), Scheme: testenv.Scheme(), EvaluationJobs: EvaluationJobOptions{Image: "rai:1"}}
	dep, err := r.applyDeployment(context.Background(), m, servedModel{Version: "v1", URI: string(m.Spec.Model.URI), SHA256: sha(1)})
	if err != nil {
		t.Fatal(err)
	}
	check("serving", dep.Spec.Template.Spec, serveContainer)

	// Without a CA bundle, no volume.
	plain := newModel("ns", "credit", withS3("model-store"))
	if spec := buildEvaluationJob(plain, report.KindFairness, EvaluationJobOptions{}).Spec.Template.Spec; slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == s3CABundleVolume }) {
		t.Errorf("a CA bundle volume without spec.storage.s3.caBundle")
	}
}
