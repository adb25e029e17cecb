package controllers

import (
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Where trust is established. Everything read from the model's namespace is
// untrusted input written by the person the gate judges: pods (anyone who
// may create a pod can give it a Job's name label and a termination
// message), Jobs (anyone can create one under the name the operator would
// use) and ConfigMaps. A report reaches a verdict only through the checks
// in this file:
//
//   - trustedJob: the Job is the one the operator created (its UID is the
//     one recorded in status when the operator created it);
//   - trustedPods: a pod speaks for that Job only if the Job controls it
//     (controller owner reference with the Job's UID) and it runs the Job's
//     own pod template (same containers, commands, arguments, environment,
//     mounts and volumes), so that what wrote the termination message is the
//     evaluator the operator asked for; the kubelet, not the user, writes
//     pod status;
//   - trustedReport: the report names the kind, model, version, model
//     digest and data set digest that the Job evaluated.
//
// Stored evidence is checked against the digest recorded at that moment
// (evidence.go: verifiedEvidence).

// trustedJob says why job is not the Job the operator recorded for the
// evaluation, or "" when it is.
func trustedJob(job *batchv1.Job, recordedUID string) string {
	switch {
	case recordedUID == "":
		return fmt.Sprintf("Job %s was not created by the operator for this evaluation (no record of its UID)", job.Name)
	case string(job.UID) != recordedUID:
		return fmt.Sprintf("Job %s has UID %s, not the UID %s of the Job the operator created", job.Name, job.UID, recordedUID)
	}
	return ""
}

// untrustedPod is a pod that claims to belong to a Job but does not.
type untrustedPod struct {
	Name, Why string
}

// trustedPods splits the pods listed by the Job's name label into those
// that speak for job and those that only claim to. Pods of an earlier Job
// of the same name (one replaced for a retry; the garbage collector
// deletes them) are neither: they are ignored. Pure.
func trustedPods(job *batchv1.Job, pods []corev1.Pod) (trusted []corev1.Pod, untrusted []untrustedPod) {
	for _, p := range pods {
		if owner := metav1.GetControllerOf(&p); owner != nil && owner.Kind == "Job" && owner.Name == job.Name && owner.UID != job.UID {
			continue
		}
		if why := podSpeaksForJob(job, &p); why != "" {
			untrusted = append(untrusted, untrustedPod{Name: p.Name, Why: why})
			continue
		}
		trusted = append(trusted, p)
	}
	return trusted, untrusted
}

// podSpeaksForJob says why pod does not speak for job, or "" when it does.
func podSpeaksForJob(job *batchv1.Job, pod *corev1.Pod) string {
	owner := metav1.GetControllerOf(pod)
	if owner == nil {
		return fmt.Sprintf("it is not controlled by Job %s (no controller owner)", job.Name)
	}
	if owner.Kind != "Job" || owner.Name != job.Name || owner.UID != job.UID {
		return fmt.Sprintf("its controller is %s %s (UID %s), not Job %s (UID %s)", owner.Kind, owner.Name, owner.UID, job.Name, job.UID)
	}
	want := &job.Spec.Template.Spec
	got := &pod.Spec
	if len(got.EphemeralContainers) > 0 {
		return "it has ephemeral containers"
	}
	if why := sameContainers("init container", want.InitContainers, got.InitContainers); why != "" {
		return why
	}
	if why := sameContainers("container", want.Containers, got.Containers); why != "" {
		return why
	}
	if len(got.Volumes) != len(want.Volumes) {
		return fmt.Sprintf("it has %d volumes, the Job's template %d", len(got.Volumes), len(want.Volumes))
	}
	for _, v := range want.Volumes {
		i := slices.IndexFunc(got.Volumes, func(x corev1.Volume) bool { return x.Name == v.Name })
		if i < 0 || !equality.Semantic.DeepEqual(got.Volumes[i].VolumeSource, v.VolumeSource) {
			return fmt.Sprintf("its volume %q is not the Job template's", v.Name)
		}
	}
	return ""
}

// sameContainers compares what decides a container's behaviour: image,
// command, arguments, environment, working directory and mounts. Resources
// and probes may be changed by admission (LimitRanger) and do not change
// what the evaluator writes.
func sameContainers(what string, want, got []corev1.Container) string {
	if len(got) != len(want) {
		return fmt.Sprintf("it has %d %ss, the Job's template %d", len(got), what, len(want))
	}
	for i, w := range want {
		g := got[i]
		switch {
		case g.Name != w.Name:
			return fmt.Sprintf("its %s %d is %q, not %q", what, i, g.Name, w.Name)
		case g.Image != w.Image:
			return fmt.Sprintf("its %s %s runs image %q, not %q", what, g.Name, g.Image, w.Image)
		case !slices.Equal(g.Command, w.Command) || !slices.Equal(g.Args, w.Args):
			return fmt.Sprintf("its %s %s runs another command line than the Job's template", what, g.Name)
		case g.WorkingDir != w.WorkingDir:
			return fmt.Sprintf("its %s %s has another working directory", what, g.Name)
		case !equality.Semantic.DeepEqual(withoutIndexEnv(g.Env, w.Env), w.Env) || !equality.Semantic.DeepEqual(g.EnvFrom, w.EnvFrom):
			return fmt.Sprintf("its %s %s has another environment than the Job's template", what, g.Name)
		case !equality.Semantic.DeepEqual(g.VolumeMounts, w.VolumeMounts):
			return fmt.Sprintf("its %s %s mounts other volumes than the Job's template", what, g.Name)
		}
	}
	return ""
}

// withoutIndexEnv drops the JOB_COMPLETION_INDEX variable the Job
// controller adds to an Indexed Job's pods when the template lacks it.
func withoutIndexEnv(env, template []corev1.EnvVar) []corev1.EnvVar {
	if slices.ContainsFunc(template, func(e corev1.EnvVar) bool { return e.Name == jobCompletionIndexEnv }) {
		return env
	}
	return slices.DeleteFunc(slices.Clone(env), func(e corev1.EnvVar) bool {
		return e.Name == jobCompletionIndexEnv && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil
	})
}

// untrustedMessage explains ignored pods for an evaluation's status.
func untrustedMessage(job string, pods []untrustedPod) string {
	parts := make([]string, len(pods))
	for i, p := range pods {
		parts[i] = fmt.Sprintf("pod %s: %s", p.Name, p.Why)
	}
	return fmt.Sprintf("pods carry the name label of Job %s but do not speak for it, so no report of this evaluation is trusted (%s); set the %s annotation to a new value to run it again",
		job, strings.Join(parts, "; "), raiv1.AnnotationRetryEvaluations)
}

// expectedReport is what a report must name to count for an evaluation.
type expectedReport struct {
	Kind        report.Kind
	Model       string
	Version     string
	ModelSHA256 string
	// DatasetSHA256 is the digest of the data the kind reads; empty when
	// it reads none (privacy without a membership audit).
	DatasetSHA256 string
}

// expectedFor returns what the report of kind must name for the spec.
func expectedFor(obj *raiv1.ResponsibleModel, kind report.Kind) expectedReport {
	e := expectedReport{Kind: kind, Model: obj.Name, Version: obj.Spec.Version, ModelSHA256: string(obj.Spec.Model.SHA256)}
	ev := obj.Spec.Evaluations
	switch kind {
	case report.KindPrivacy:
		if p := ev.Privacy; p != nil && p.MembershipAudit != nil {
			e.DatasetSHA256 = string(p.MembershipAudit.Members.SHA256)
		}
	case report.KindRobustness:
		if r := ev.Robustness; r != nil && r.Dataset != nil {
			e.DatasetSHA256 = string(r.Dataset.SHA256)
		} else if ev.Dataset != nil {
			e.DatasetSHA256 = string(ev.Dataset.SHA256)
		}
	default:
		if ev.Dataset != nil {
			e.DatasetSHA256 = string(ev.Dataset.SHA256)
		}
	}
	return e
}

// readOutcome is the verdict on a report read from a termination message.
type readOutcome struct {
	report  *report.Report
	raw     []byte
	state   raiv1.EvaluationState
	reason  string
	message string
}

// trustedReport validates a termination message as the report want
// describes. It never returns Succeeded for a message that is not a valid,
// succeeded report naming exactly the kind, model, version and digests
// evaluated. Pure.
func trustedReport(msg string, want expectedReport) readOutcome {
	if strings.TrimSpace(msg) == "" {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportMissing,
			message: "the evaluation pod finished without a report in its termination message"}
	}
	rep, err := report.Parse([]byte(msg))
	if err != nil {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportInvalid, message: err.Error()}
	}
	mismatch := func(format string, args ...any) readOutcome {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportMismatch, message: fmt.Sprintf(format, args...)}
	}
	if rep.Kind != want.Kind {
		return mismatch("the report is of kind %q, not %q", rep.Kind, want.Kind)
	}
	if rep.State != report.StateSucceeded {
		return readOutcome{report: rep, raw: []byte(msg), state: raiv1.EvaluationError, reason: raiv1.ReasonEvaluatorError, message: rep.Message}
	}
	switch {
	case rep.Model.SHA256 == "":
		return mismatch("the report does not name the model digest; it must be %s", want.ModelSHA256)
	case rep.Model.SHA256 != want.ModelSHA256:
		return mismatch("the report is of model sha256 %s, not %s", rep.Model.SHA256, want.ModelSHA256)
	case rep.Model.Name != "" && rep.Model.Name != want.Model:
		return mismatch("the report is of model %q, not %q", rep.Model.Name, want.Model)
	case rep.Model.Version != "" && rep.Model.Version != want.Version:
		return mismatch("the report is of version %q, not %q", rep.Model.Version, want.Version)
	}
	if want.DatasetSHA256 != "" {
		switch {
		case rep.Dataset == nil || rep.Dataset.SHA256 == "":
			return mismatch("the report does not name the data set digest; it must be %s", want.DatasetSHA256)
		case rep.Dataset.SHA256 != want.DatasetSHA256:
			return mismatch("the report is of data set sha256 %s, not %s", rep.Dataset.SHA256, want.DatasetSHA256)
		}
	}
	return readOutcome{report: rep, raw: []byte(msg), state: raiv1.EvaluationSucceeded, message: "report read"}
}

// terminationMessage returns the evaluate container's termination message
// of the newest pod in phase, and whether there is such a pod.
func terminationMessage(pods []corev1.Pod, phase corev1.PodPhase) (string, bool) {
	var best *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != phase {
			continue
		}
		if best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp) {
			best = p
		}
	}
	if best == nil {
		return "", false
	}
	for _, cs := range best.Status.ContainerStatuses {
		if cs.Name == evaluateContainer && cs.State.Terminated != nil {
			return cs.State.Terminated.Message, true
		}
	}
	return "", true
}
