package controllers

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TestTrustedReport: a report counts only when it names exactly the kind,
// model, version, model digest and data set digest evaluated.
func TestTrustedReport(t *testing.T) {
	want := expectedReport{Kind: report.KindFairness, Model: "credit", Version: "v1", ModelSHA256: sha(1), DatasetSHA256: sha(100)}
	edit := func(f func(r *report.Report)) string {
		r := baseReport(report.KindFairness, 1)
		r.Dataset = &report.Dataset{SHA256: sha(100), Rows: 10}
		r.SetMetric("demographic_parity_ratio", 0.9, "")
		f(r)
		return mustJSON(r)
	}
	cases := []struct {
		name string
		msg  string
		// wantState and wantReason are the verdict.
		wantState  raiv1.EvaluationState
		wantReason string
	}{
		{"valid", fairnessReport(1, 0.9), raiv1.EvaluationSucceeded, ""},
		{"valid, naming model and version", edit(func(r *report.Report) { r.Model.Name, r.Model.Version = "credit", "v1" }), raiv1.EvaluationSucceeded, ""},
		{"empty", " \n", raiv1.EvaluationError, raiv1.ReasonReportMissing},
		{"not JSON", "Error: model not found", raiv1.EvaluationError, raiv1.ReasonReportInvalid},
		{"unknown field", strings.Replace(fairnessReport(1, 0.9), `"kind"`, `"extra":1,"kind"`, 1), raiv1.EvaluationError, raiv1.ReasonReportInvalid},
		{"other kind", mustJSON(baseReport(report.KindRobustness, 1)), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"other model digest", fairnessReport(2, 0.9), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"no model digest", edit(func(r *report.Report) { r.Model.SHA256 = "" }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"no data set", edit(func(r *report.Report) { r.Dataset = nil }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"no data set digest", edit(func(r *report.Report) { r.Dataset.SHA256 = "" }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"other data set", edit(func(r *report.Report) { r.Dataset.SHA256 = sha(101) }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"other model name", edit(func(r *report.Report) { r.Model.Name = "credit-fair" }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"other version", edit(func(r *report.Report) { r.Model.Version = "v2" }), raiv1.EvaluationError, raiv1.ReasonReportMismatch},
		{"evaluator error", mustJSON(func() *report.Report {
			r := baseReport(report.KindFairness, 1)
			r.State, r.Message = report.StateError, "label column missing"
			return r
		}()), raiv1.EvaluationError, raiv1.ReasonEvaluatorError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := trustedReport(tc.msg, want)
			if got.state != tc.wantState || got.reason != tc.wantReason {
				t.Errorf("trustedReport = %s/%s (%s), want %s/%s", got.state, got.reason, got.message, tc.wantState, tc.wantReason)
			}
		})
	}
}

// TestExpectedFor: each kind's report must name the data that kind reads.
func TestExpectedFor(t *testing.T) {
	m := newModel("ns", "credit", withPrivacyBudget("b"))
	if e := expectedFor(m, report.KindFairness); e.DatasetSHA256 != sha(100) || e.ModelSHA256 != sha(1) || e.Version != "v1" || e.Model != "credit" {
		t.Errorf("fairness: %+v", e)
	}
	if e := expectedFor(m, report.KindPrivacy); e.DatasetSHA256 != "" {
		t.Errorf("privacy without an audit reads no data, expected %+v", e)
	}
	m.Spec.Evaluations.Privacy.MembershipAudit = &raiv1.MembershipAudit{
		Members:    raiv1.DataFile{URI: "file:///m.csv", SHA256: raiv1.SHA256(sha(200))},
		NonMembers: raiv1.DataFile{URI: "file:///n.csv", SHA256: raiv1.SHA256(sha(201))},
	}
	if e := expectedFor(m, report.KindPrivacy); e.DatasetSHA256 != sha(200) {
		t.Errorf("privacy with an audit names its members: %+v", e)
	}
	m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25", Dataset: &raiv1.DatasetSpec{URI: "file:///r.csv", SHA256: raiv1.SHA256(sha(300)), LabelColumn: "label"}}
	if e := expectedFor(m, report.KindRobustness); e.DatasetSHA256 != sha(300) {
		t.Errorf("robustness with its own data: %+v", e)
	}
}

// TestTrustedPods: only a pod the Job controls, running the Job's own
// template, speaks for the Job.
func TestTrustedPods(t *testing.T) {
	m := newModel("ns", "credit")
	m.UID = "model-uid"
	job := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"})
	job.UID = "job-uid"
	jobPod := func(mod func(p *corev1.Pod)) corev1.Pod {
		p := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{batchv1.JobNameLabel: job.Name},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
			Spec: *job.Spec.Template.Spec.DeepCopy(),
		}
		// What admission and the scheduler add does not matter.
		p.Spec.NodeName, p.Spec.ServiceAccountName = "node-1", "default"
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists})
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	cases := []struct {
		name string
		pod  corev1.Pod
		// wantWhy is a part of the reason the pod is refused; "" trusts it.
		wantWhy string
	}{
		{"the Job's pod", jobPod(nil), ""},
		{"the index variable the Job controller adds", jobPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: jobCompletionIndexEnv,
				ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['x']"}}})
		}), ""},
		{"only the name label", jobPod(func(p *corev1.Pod) { p.OwnerReferences = nil }), "no controller owner"},
		{"owned, not controlled", jobPod(func(p *corev1.Pod) { p.OwnerReferences[0].Controller = nil }), "no controller owner"},
		{"controlled by a ReplicaSet of the Job's name", jobPod(func(p *corev1.Pod) { p.OwnerReferences[0].Kind = "ReplicaSet"; p.OwnerReferences[0].UID = "other" }), "its controller is ReplicaSet"},
		{"controlled by a ReplicaSet", jobPod(func(p *corev1.Pod) { p.OwnerReferences[0].Kind = "ReplicaSet" }), "its controller is ReplicaSet"},
		{"another image", jobPod(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "forger:1" }), "runs image"},
		{"another command line", jobPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Args = append(p.Spec.Containers[0].Args, "--threshold", "0.1")
		}), "command line"},
		{"another command", jobPod(func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"sh", "-c"} }), "command line"},
		{"an added environment variable", jobPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "LD_PRELOAD", Value: "/tmp/x.so"})
		}), "environment"},
		{"an added container", jobPod(func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "x", Image: "x"})
		}), "2 containers"},
		{"an init container", jobPod(func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "x", Image: "x"}} }), "init container"},
		{"an ephemeral container", jobPod(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "x", Image: "x"}}}
		}), "ephemeral"},
		{"another volume", jobPod(func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/forged"}}
		}), "volume"},
		{"another mount", jobPod(func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "/elsewhere" }), "mounts"},
	}
	// A pod of an earlier Job of the same name (replaced for a retry) is
	// ignored: it neither reports nor raises an alarm.
	stale := jobPod(func(p *corev1.Pod) { p.OwnerReferences[0].UID = types.UID("earlier") })
	if trusted, untrusted := trustedPods(job, []corev1.Pod{stale}); len(trusted)+len(untrusted) != 0 {
		t.Errorf("a pod of an earlier Job: trusted %d, untrusted %+v", len(trusted), untrusted)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trusted, untrusted := trustedPods(job, []corev1.Pod{tc.pod})
			if tc.wantWhy == "" {
				if len(trusted) != 1 || len(untrusted) != 0 {
					t.Fatalf("the pod is not trusted: %+v", untrusted)
				}
				return
			}
			if len(trusted) != 0 || len(untrusted) != 1 || !strings.Contains(untrusted[0].Why, tc.wantWhy) {
				t.Fatalf("trusted %d, untrusted %+v, want refused for %q", len(trusted), untrusted, tc.wantWhy)
			}
		})
	}
}

// TestTrustedJob: the Job must be the one whose UID the operator recorded.
func TestTrustedJob(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", UID: "a"}}
	if why := trustedJob(job, "a"); why != "" {
		t.Errorf("the recorded Job: %s", why)
	}
	if why := trustedJob(job, ""); !strings.Contains(why, "no record") {
		t.Errorf("an unrecorded Job: %q", why)
	}
	if why := trustedJob(job, "b"); !strings.Contains(why, "not the UID b") {
		t.Errorf("a replaced Job: %q", why)
	}
}
