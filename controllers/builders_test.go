package controllers

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

func TestBuildServingDeployment(t *testing.T) {
	served := servedModel{Version: "v3", URI: "https://m/v3.onnx", SHA256: sha(3)}
	cases := []struct {
		name string
		opts []modelOption
		// wantLimit is the GPU resource and count in the limits; empty for CPU.
		wantLimit corev1.ResourceName
		wantCount int64
		// wantDevice is the --device argument.
		wantDevice string
		// wantAffinity are the required node selector requirements.
		wantAffinity []corev1.NodeSelectorRequirement
		// wantGPUToleration: the nvidia.com/gpu taint is tolerated.
		wantGPUToleration bool
	}{
		{name: "cpu", wantDevice: "cpu"},
		{name: "whole GPUs with product and memory", opts: []modelOption{withGPU(2, "NVIDIA-H200", "80Gi")},
			wantLimit: "nvidia.com/gpu", wantCount: 2, wantDevice: "cuda", wantGPUToleration: true,
			wantAffinity: []corev1.NodeSelectorRequirement{
				{Key: "nvidia.com/gpu.product", Operator: corev1.NodeSelectorOpIn, Values: []string{"NVIDIA-H200"}},
				{Key: "nvidia.com/gpu.memory", Operator: corev1.NodeSelectorOpGt, Values: []string{"81919"}},
			}},
		{name: "MIG slice", opts: []modelOption{func(m *raiv1.ResponsibleModel) {
			m.Spec.Serving.GPU = &raiv1.GPUSpec{MIGProfile: "1g.10gb"}
		}}, wantLimit: "nvidia.com/mig-1g.10gb", wantCount: 1, wantDevice: "cuda", wantGPUToleration: true},
		{name: "memory in decimal units rounds up to MiB", opts: []modelOption{func(m *raiv1.ResponsibleModel) {
			q := resource.MustParse("40G")
			m.Spec.Serving.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1)), MinMemory: &q}
		}}, wantLimit: "nvidia.com/gpu", wantCount: 1, wantDevice: "cuda", wantGPUToleration: true,
			wantAffinity: []corev1.NodeSelectorRequirement{{Key: "nvidia.com/gpu.memory", Operator: corev1.NodeSelectorOpGt, Values: []string{"38146"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel("ns", "credit", tc.opts...)
			m.Spec.Serving.Tolerations = []corev1.Toleration{{Key: "team", Operator: corev1.TolerationOpEqual, Value: "ml", Effect: corev1.TaintEffectNoSchedule}}
			m.Spec.Serving.ProgressDeadlineSeconds = ptr.To(int32(120))
			d := buildServingDeployment(m, served, "img:1")
			c := d.Spec.Template.Spec.Containers[0]
			if tc.wantLimit == "" {
				for name := range c.Resources.Limits {
					if strings.HasPrefix(string(name), "nvidia.com/") {
						t.Errorf("CPU serving asks for %s", name)
					}
				}
			} else if q := c.Resources.Limits[tc.wantLimit]; q.Value() != tc.wantCount {
				t.Errorf("limit %s = %v, want %d", tc.wantLimit, q.String(), tc.wantCount)
			}
			if i := slices.Index(c.Args, "--device"); i < 0 || c.Args[i+1] != tc.wantDevice {
				t.Errorf("args %v, want --device %s", c.Args, tc.wantDevice)
			}
			var got []corev1.NodeSelectorRequirement
			if a := d.Spec.Template.Spec.Affinity; a != nil {
				got = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions
			}
			if !slices.EqualFunc(got, tc.wantAffinity, func(a, b corev1.NodeSelectorRequirement) bool {
				return a.Key == b.Key && a.Operator == b.Operator && slices.Equal(a.Values, b.Values)
			}) {
				t.Errorf("affinity %v, want %v", got, tc.wantAffinity)
			}
			gpuTol := slices.ContainsFunc(d.Spec.Template.Spec.Tolerations, func(x corev1.Toleration) bool {
				return x.Key == "nvidia.com/gpu" && x.Operator == corev1.TolerationOpExists && x.Effect == corev1.TaintEffectNoSchedule
			})
			if gpuTol != tc.wantGPUToleration || !slices.ContainsFunc(d.Spec.Template.Spec.Tolerations, func(x corev1.Toleration) bool { return x.Key == "team" }) {
				t.Errorf("tolerations %v, want the spec's and GPU=%v", d.Spec.Template.Spec.Tolerations, tc.wantGPUToleration)
			}
			// Invariants of every serving Deployment.
			if d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 {
				t.Errorf("rolling update %+v, want maxUnavailable 0, maxSurge 1", d.Spec.Strategy.RollingUpdate)
			}
			if *d.Spec.ProgressDeadlineSeconds != 120 {
				t.Errorf("progress deadline %d, want 120", *d.Spec.ProgressDeadlineSeconds)
			}
			if c.ReadinessProbe.HTTPGet.Path != "/v2/health/ready" || c.LivenessProbe.HTTPGet.Path != "/v2/health/live" {
				t.Errorf("probes %s %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
			}
			if d.Spec.Template.Labels[raiv1.LabelVersion] != "v3" || d.Spec.Selector.MatchLabels[raiv1.LabelVersion] != "" {
				t.Errorf("pods must carry the version, the selector must not: %v / %v", d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
			}
			assertRestricted(t, d.Spec.Template.Spec)
			if !slices.Contains(c.Args, sha(3)) || !slices.Contains(c.Args, "https://m/v3.onnx") {
				t.Errorf("args %v do not pin the served model", c.Args)
			}
		})
	}
}

// assertRestricted checks the restricted Pod Security Standard's fields.
func assertRestricted(t *testing.T, p corev1.PodSpec) {
	t.Helper()
	if !*p.SecurityContext.RunAsNonRoot || p.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", p.SecurityContext)
	}
	for _, c := range p.Containers {
		sc := c.SecurityContext
		if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container %s security context %+v", c.Name, sc)
		}
	}
}

func TestBuildEvaluationJob(t *testing.T) {
	opts := EvaluationJobOptions{Image: "rai:1", NodeSelector: map[string]string{"a": "b"}}
	full := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", ParametersFrom: raiv1.DPParametersFromSpec,
			DPSGD: &raiv1.DPSGDParameters{NoiseMultiplier: "1.1", SampleRate: "0.01", Steps: 3000}}
		m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25", SelectionSamples: ptr.To(int32(100)), CertificationSamples: ptr.To(int32(1000)), Alpha: "0.001", Radii: []raiv1.Decimal{"0.1", "0.25"}}
		m.Spec.Evaluations.Explanations = &raiv1.ExplanationEvaluation{Samples: ptr.To(int32(50))}
		m.Spec.Evaluations.Job.ActiveDeadlineSeconds = ptr.To(int64(300))
		m.Spec.Evaluations.Job.BackoffLimit = ptr.To(int32(2))
	})
	cases := []struct {
		kind report.Kind
		// wantArgs must appear in order, each flag followed by its value.
		wantArgs [][2]string
	}{
		{report.KindFairness, [][2]string{{"--data", "file:///data/eval.csv"}, {"--label", "label"}, {"--sensitive", "sex"}, {"--privileged", "sex=male"}}},
		{report.KindPrivacy, [][2]string{{"--delta", "1e-5"}, {"--noise-multiplier", "1.1"}, {"--sample-rate", "0.01"}, {"--steps", "3000"}}},
		{report.KindRobustness, [][2]string{{"--sigma", "0.25"}, {"--n0", "100"}, {"--n", "1000"}, {"--alpha", "0.001"}, {"--radii", "0.1,0.25"}}},
		{report.KindExplain, [][2]string{{"--shapley-rows", "50"}, {"--data-sha256", sha(100)}}},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			j := buildEvaluationJob(full, tc.kind, opts)
			c := j.Spec.Template.Spec.Containers[0]
			if c.Args[0] != "evaluate" || c.Args[1] != string(tc.kind) {
				t.Fatalf("args %v, want evaluate %s", c.Args, tc.kind)
			}
			for _, kv := range append(tc.wantArgs, [2]string{"--model", string(full.Spec.Model.URI)}, [2]string{"--sha256", sha(1)},
				[2]string{"--model-name", "credit"}, [2]string{"--model-version", "v1"}, [2]string{"--report", reportPath}) {
				i := slices.Index(c.Args, kv[0])
				if i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != kv[1] {
					t.Errorf("args %v lack %s %s", c.Args, kv[0], kv[1])
				}
			}
			if *j.Spec.ActiveDeadlineSeconds != 300 || *j.Spec.BackoffLimit != 2 {
				t.Errorf("deadline %d backoff %d", *j.Spec.ActiveDeadlineSeconds, *j.Spec.BackoffLimit)
			}
			if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || j.Spec.Template.Spec.NodeSelector["a"] != "b" || c.Image != "rai:1" {
				t.Errorf("pod spec %+v", j.Spec.Template.Spec)
			}
			if j.Labels[raiv1.LabelEvaluationKind] != string(tc.kind) || j.Labels[raiv1.LabelVersion] != "v1" {
				t.Errorf("labels %v", j.Labels)
			}
			if errs := validation.IsDNS1035Label(j.Name); len(errs) > 0 {
				t.Errorf("Job name %q: %v", j.Name, errs)
			}
			assertRestricted(t, j.Spec.Template.Spec)
		})
	}
	// A change to what is evaluated names a new Job; the same spec the same.
	a, b := evaluationJobName(full, report.KindFairness), evaluationJobName(full.DeepCopy(), report.KindFairness)
	changed := full.DeepCopy()
	changed.Spec.Evaluations.Fairness.SensitiveColumns = []string{"age"}
	if a != b || a == evaluationJobName(changed, report.KindFairness) {
		t.Errorf("Job names %q %q %q", a, b, evaluationJobName(changed, report.KindFairness))
	}
}

func TestBoundedName(t *testing.T) {
	long := strings.Repeat("a", 70)
	cases := []struct {
		parts []string
		want  string
	}{
		{[]string{"credit", "v1", "evidence"}, "credit-v1-evidence"},
		{[]string{"credit", "2026.11.28", "evidence"}, ""},
		{[]string{long, "v1"}, ""},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		got := boundedName(tc.parts...)
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
			t.Errorf("boundedName(%q) = %q: %v", tc.parts, got, errs)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("boundedName(%q) = %q, want %q", tc.parts, got, tc.want)
		}
		if seen[got] {
			t.Errorf("boundedName(%q) = %q collides", tc.parts, got)
		}
		seen[got] = true
	}
	if boundedName("m", "1.0") == boundedName("m", "1-0") {
		t.Error("versions that differ only in a dot collide")
	}
}

func TestRolloutVerdict(t *testing.T) {
	dep := func(mod func(*appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2))}}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2}
		mod(d)
		return d
	}
	cases := []struct {
		name          string
		dep           *appsv1.Deployment
		unschedulable string
		want          rolloutPhase
	}{
		{"in progress", dep(func(*appsv1.Deployment) {}), "", rolloutProgressing},
		{"complete", dep(func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 2, 2, 2
		}), "", rolloutComplete},
		{"old pods still there", dep(func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 3, 2, 3
		}), "", rolloutProgressing},
		{"status of an older generation", dep(func(d *appsv1.Deployment) {
			d.Status.ObservedGeneration = 1
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 2, 2, 2
		}), "", rolloutProgressing},
		{"deadline exceeded", dep(func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}
		}), "", rolloutStuck},
		{"deadline of an older generation is not this rollout's", dep(func(d *appsv1.Deployment) {
			d.Status.ObservedGeneration = 1
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}
		}), "", rolloutProgressing},
		{"unschedulable", dep(func(*appsv1.Deployment) {}), "0/3 nodes are available", rolloutUnschedulable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, msg := rolloutVerdict(rolloutFacts{Deployment: tc.dep, Unschedulable: tc.unschedulable}); got != tc.want {
				t.Errorf("rolloutVerdict = %s (%s), want %s", got, msg, tc.want)
			}
		})
	}
}

func TestParseTolerations(t *testing.T) {
	got, err := ParseTolerations([]string{"rai.responsible-ai.dev/local-exec=true:NoSchedule", "nvidia.com/gpu:NoSchedule"})
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.Toleration{
		{Key: "rai.responsible-ai.dev/local-exec", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule},
		{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
	if !slices.EqualFunc(got, want, func(a, b corev1.Toleration) bool { return a.MatchToleration(&b) && a.Value == b.Value }) {
		t.Errorf("ParseTolerations = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"key=value", "k=v:Sometimes", ":NoSchedule"} {
		if _, err := ParseTolerations([]string{bad}); err == nil {
			t.Errorf("ParseTolerations(%q) accepted", bad)
		}
	}
	sel, err := ParseNodeSelector("a=b, c=d")
	if err != nil || sel["a"] != "b" || sel["c"] != "d" {
		t.Errorf("ParseNodeSelector = %v, %v", sel, err)
	}
	if _, err := ParseNodeSelector("a"); err == nil {
		t.Error("ParseNodeSelector accepted a pair without =")
	}
}

// TestAuditVolume: without a claim the audit log is on an emptyDir; with
// one, each pod writes in a directory of its own on the claim.
func TestAuditVolume(t *testing.T) {
	m := newModel("ns", "m")
	served := servedModel{Version: "v1", URI: "file:///m.onnx", SHA256: sha(1)}
	spec := buildServingDeployment(m, served, "rai:1").Spec.Template.Spec
	if v := spec.Volumes[slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "audit" })]; v.EmptyDir == nil {
		t.Errorf("default audit volume %+v", v)
	}
	m.Spec.Serving.AuditVolumeClaim = &raiv1.LocalObjectReference{Name: "audit-logs"}
	spec = buildServingDeployment(m, served, "rai:1").Spec.Template.Spec
	v := spec.Volumes[slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "audit" })]
	c := spec.Containers[0]
	mount := c.VolumeMounts[slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "audit" })]
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "audit-logs" || mount.SubPathExpr != "$(POD_NAME)" ||
		!slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == "POD_NAME" && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
		}) {
		t.Errorf("audit on a claim: volume %+v, mount %+v, env %+v", v, mount, c.Env)
	}
}
