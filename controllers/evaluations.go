package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Evaluation Jobs: one per requested kind and candidate version, running
// `rai evaluate <kind>` from the runtime image. The pod writes its compact
// report (≤ 4 KiB) to its termination message; the operator validates it,
// keeps it in the version's evidence ConfigMap under <kind>.json and
// summarizes it in status.evaluations.

const (
	// evaluateContainer is the name of the evaluation Job's container.
	evaluateContainer = "evaluate"
	// reportPath is where the evaluator writes its full report inside the pod.
	reportPath = "/work/report.json"
	// evaluationJobTTL keeps a finished Job for a day: its outcome is in
	// status and its report in the evidence ConfigMap by then.
	evaluationJobTTL = int32(24 * 3600)
	// annotationRequested on an evidence ConfigMap lists the kinds the
	// version was asked to produce, for the compliance re-check.
	annotationRequested = "rai.responsible-ai.dev/requested-evaluations"
	// maxStatusMetrics bounds the headline numbers copied into status.
	maxStatusMetrics = 16
	// runtimeUID is the non-root user of the runtime image.
	runtimeUID = int64(65532)
)

// requestedKinds lists the evaluation kinds the spec asks for, in report
// order.
func requestedKinds(spec *raiv1.ResponsibleModelSpec) []report.Kind {
	e := spec.Evaluations
	var kinds []report.Kind
	if e.Fairness != nil {
		kinds = append(kinds, report.KindFairness)
	}
	if e.Privacy != nil {
		kinds = append(kinds, report.KindPrivacy)
	}
	if e.Robustness != nil {
		kinds = append(kinds, report.KindRobustness)
	}
	if e.Explanations != nil {
		kinds = append(kinds, report.KindExplain)
	}
	return kinds
}

// EvaluationJobOptions are the manager's settings for evaluation pods.
type EvaluationJobOptions struct {
	// Image of the rai runtime.
	Image string
	// NodeSelector and Tolerations are added to every evaluation pod.
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
}

// evaluationArgs returns the `rai evaluate <kind>` arguments for the spec.
func evaluationArgs(obj *raiv1.ResponsibleModel, kind report.Kind) []string {
	spec := &obj.Spec
	ev := spec.Evaluations
	args := []string{"evaluate", string(kind),
		"--model", string(spec.Model.URI), "--sha256", string(spec.Model.SHA256)}
	// dataset is the data this kind reads: robustness may bring its own.
	dataset := ev.Dataset
	if kind == report.KindRobustness && ev.Robustness != nil && ev.Robustness.Dataset != nil {
		dataset = ev.Robustness.Dataset
	}
	data := func() {
		if d := dataset; d != nil {
			args = append(args, "--data", string(d.URI), "--data-sha256", string(d.SHA256), "--label", d.LabelColumn)
		}
	}
	favorable := func() {
		if d := dataset; d != nil && d.FavorableLabel != "" {
			args = append(args, "--favorable", d.FavorableLabel)
		}
	}
	threshold := func() {
		if f := ev.Fairness; f != nil && f.PredictionThreshold != "" {
			args = append(args, "--threshold", string(f.PredictionThreshold))
		}
	}
	switch kind {
	case report.KindFairness:
		f := ev.Fairness
		data()
		favorable()
		args = append(args, "--sensitive", strings.Join(f.SensitiveColumns, ","))
		if len(f.Privileged) > 0 {
			var pairs []string
			for _, p := range f.Privileged {
				pairs = append(pairs, p.Column+"="+p.Value)
			}
			args = append(args, "--privileged", strings.Join(pairs, ","))
		}
		threshold()
		if spec.Model.OutputName != "" {
			args = append(args, "--output", spec.Model.OutputName)
		}
	case report.KindPrivacy:
		p := ev.Privacy
		args = append(args, "--delta", string(p.Delta))
		if p.ParametersFrom == raiv1.DPParametersFromSpec && p.DPSGD != nil {
			args = append(args, "--noise-multiplier", string(p.DPSGD.NoiseMultiplier),
				"--sample-rate", string(p.DPSGD.SampleRate), "--steps", strconv.FormatInt(p.DPSGD.Steps, 10))
		}
		if a := p.MembershipAudit; a != nil {
			args = append(args, "--members", string(a.Members.URI), "--members-sha256", string(a.Members.SHA256),
				"--non-members", string(a.NonMembers.URI), "--non-members-sha256", string(a.NonMembers.SHA256))
			if d := ev.Dataset; d != nil {
				args = append(args, "--label", d.LabelColumn)
			}
			favorable()
		}
	case report.KindRobustness:
		r := ev.Robustness
		data()
		favorable()
		args = append(args, "--sigma", string(r.Sigma))
		if r.SelectionSamples != nil {
			args = append(args, "--n0", strconv.Itoa(int(*r.SelectionSamples)))
		}
		if r.CertificationSamples != nil {
			args = append(args, "--n", strconv.Itoa(int(*r.CertificationSamples)))
		}
		if r.Alpha != "" {
			args = append(args, "--alpha", string(r.Alpha))
		}
		if len(r.Radii) > 0 {
			radii := make([]string, len(r.Radii))
			for i, x := range r.Radii {
				radii[i] = string(x)
			}
			args = append(args, "--radii", strings.Join(radii, ","))
		}
		threshold()
	case report.KindExplain:
		data()
		favorable()
		if s := ev.Explanations.Samples; s != nil {
			args = append(args, "--samples", strconv.Itoa(int(*s)))
		}
	}
	// The termination log is named explicitly: rai writes its default only
	// where the file already exists, and a node that runs pods as local
	// processes maps the path only when it appears in the arguments.
	return append(args, "--model-name", obj.Name, "--model-version", spec.Version, "--report", reportPath,
		"--termination-log", corev1.TerminationMessagePathDefault)
}

// evaluationJobName is deterministic in the Job's inputs: a spec change that
// changes what is evaluated names a new Job.
func evaluationJobName(obj *raiv1.ResponsibleModel, kind report.Kind) string {
	inputs := strings.Join(evaluationArgs(obj, kind), "\x00")
	if n := shardCount(obj, kind); n > 1 {
		inputs += fmt.Sprintf("\x00shards=%d", n)
	}
	return boundedName(obj.Name, obj.Spec.Version, string(kind), shortHash(inputs))
}

// mergeJobName names the Job that merges the partial reports of a sharded
// evaluation.
func mergeJobName(obj *raiv1.ResponsibleModel, kind report.Kind) string {
	return boundedName(evaluationJobName(obj, kind), "merge")
}

// shardCount is how many pods evaluate kind: spec.evaluations.job.shards
// for fairness and robustness, 1 for the others.
func shardCount(obj *raiv1.ResponsibleModel, kind report.Kind) int32 {
	if kind != report.KindFairness && kind != report.KindRobustness {
		return 1
	}
	return max(ptr.Deref(obj.Spec.Evaluations.Job.Shards, 1), 1)
}

// shardKey is the evidence ConfigMap key of one partial report.
func shardKey(kind report.Kind, index int) string {
	return fmt.Sprintf("%s.shard-%d.json", kind, index)
}

// restrictedContainerSecurityContext meets the restricted Pod Security
// Standard.
func restrictedContainerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func restrictedPodSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(runtimeUID),
		RunAsGroup:     ptr.To(runtimeUID),
		FSGroup:        ptr.To(runtimeUID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// evaluationLabels label an evaluation Job and its pods.
func evaluationLabels(obj *raiv1.ResponsibleModel, kind report.Kind) map[string]string {
	return map[string]string{
		raiv1.LabelModel:          obj.Name,
		raiv1.LabelVersion:        obj.Spec.Version,
		raiv1.LabelEvaluationKind: string(kind),
		raiv1.LabelComponent:      "evaluation",
		raiv1.LabelManagedBy:      "rmodel-operator",
	}
}

// buildEvaluationJob returns the Job that evaluates the spec's version for
// kind. It sets no owner reference (the caller does, with the scheme).
func buildEvaluationJob(obj *raiv1.ResponsibleModel, kind report.Kind, opts EvaluationJobOptions) *batchv1.Job {
	jobSpec := obj.Spec.Evaluations.Job
	container := corev1.Container{
		Name:                     evaluateContainer,
		Image:                    opts.Image,
		Command:                  []string{"rai"},
		Args:                     evaluationArgs(obj, kind),
		Env:                      []corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}},
		Resources:                *jobSpec.Resources.DeepCopy(),
		SecurityContext:          restrictedContainerSecurityContext(),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "work", MountPath: "/work"},
			{Name: "tmp", MountPath: "/tmp"},
		},
	}
	job := evaluationJobShell(obj, kind, evaluationJobName(obj, kind), container, opts)
	if n := shardCount(obj, kind); n > 1 {
		// An Indexed Job: pod i evaluates shard i/N and reports it.
		job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		job.Spec.Completions, job.Spec.Parallelism = ptr.To(n), ptr.To(n)
		c := &job.Spec.Template.Spec.Containers[0]
		c.Env = append(c.Env, corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"}}})
		c.Args = append(c.Args, "--shard", fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n))
	}
	return job
}

// buildMergeJob returns the Job that merges the partial reports of a
// sharded evaluation, which it reads from the version's evidence ConfigMap.
func buildMergeJob(obj *raiv1.ResponsibleModel, kind report.Kind, opts EvaluationJobOptions) *batchv1.Job {
	n := int(shardCount(obj, kind))
	args := []string{"evaluate", "merge", "--report", reportPath, "--termination-log", corev1.TerminationMessagePathDefault}
	items := make([]corev1.KeyToPath, n)
	for i := range n {
		items[i] = corev1.KeyToPath{Key: shardKey(kind, i), Path: fmt.Sprintf("part-%d.json", i)}
		args = append(args, fmt.Sprintf("/parts/part-%d.json", i))
	}
	container := corev1.Container{
		Name: evaluateContainer, Image: opts.Image, Command: []string{"rai"}, Args: args,
		Env:                      []corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}},
		Resources:                *obj.Spec.Evaluations.Job.Resources.DeepCopy(),
		SecurityContext:          restrictedContainerSecurityContext(),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "work", MountPath: "/work"}, {Name: "tmp", MountPath: "/tmp"}, {Name: "parts", MountPath: "/parts", ReadOnly: true},
		},
	}
	job := evaluationJobShell(obj, kind, mergeJobName(obj, kind), container, opts)
	job.Labels[raiv1.LabelComponent] = "evaluation-merge"
	job.Spec.Template.Labels[raiv1.LabelComponent] = "evaluation-merge"
	job.Spec.Template.Spec.Volumes = append(job.Spec.Template.Spec.Volumes, corev1.Volume{Name: "parts", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: evidenceConfigMapName(obj.Name, obj.Spec.Version)}, Items: items}}})
	return job
}

// evaluationJobShell wraps an evaluation container in a Job.
func evaluationJobShell(obj *raiv1.ResponsibleModel, kind report.Kind, name string, container corev1.Container, opts EvaluationJobOptions) *batchv1.Job {
	jobSpec := obj.Spec.Evaluations.Job
	labels := evaluationLabels(obj, kind)
	var tolerations []corev1.Toleration
	for _, t := range opts.Tolerations {
		tolerations = append(tolerations, *t.DeepCopy())
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: obj.Namespace,
			Labels:    labels,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To(ptr.Deref(jobSpec.BackoffLimit, 1)),
			ActiveDeadlineSeconds:   ptr.To(ptr.Deref(jobSpec.ActiveDeadlineSeconds, 900)),
			TTLSecondsAfterFinished: ptr.To(evaluationJobTTL),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              restrictedPodSecurityContext(),
					NodeSelector:                 maps.Clone(opts.NodeSelector),
					Tolerations:                  tolerations,
					Containers:                   []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
}

// jobOutcome is what a Job says about its evaluation.
type jobOutcome struct {
	state   raiv1.EvaluationState
	reason  string
	message string
}

// observeJob classifies a Job from its status alone. A complete Job still
// needs its report read before it counts as Succeeded.
func observeJob(job *batchv1.Job) jobOutcome {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return jobOutcome{state: raiv1.EvaluationSucceeded}
		case batchv1.JobFailed:
			if c.Reason == batchv1.JobReasonDeadlineExceeded {
				return jobOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonDeadlineExceeded,
					message: fmt.Sprintf("Job %s ran past its deadline of %ds: %s", job.Name, ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0), c.Message)}
			}
			return jobOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonJobFailed,
				message: fmt.Sprintf("Job %s failed (%s): %s", job.Name, c.Reason, c.Message)}
		}
	}
	if job.Status.Active > 0 {
		return jobOutcome{state: raiv1.EvaluationRunning, message: fmt.Sprintf("Job %s is running", job.Name)}
	}
	return jobOutcome{state: raiv1.EvaluationPending, message: fmt.Sprintf("Job %s is waiting for its pod", job.Name)}
}

// readOutcome is the verdict on a report read from a termination message.
type readOutcome struct {
	report  *report.Report
	raw     []byte
	state   raiv1.EvaluationState
	reason  string
	message string
}

// judgeReport validates a termination message as the report of kind for
// the model digest. It never returns Succeeded for a message that is not a
// valid, matching, succeeded report.
func judgeReport(msg string, kind report.Kind, modelSHA256 string) readOutcome {
	if strings.TrimSpace(msg) == "" {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportMissing,
			message: "the evaluation pod finished without a report in its termination message"}
	}
	rep, err := report.Parse([]byte(msg))
	if err != nil {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportInvalid, message: err.Error()}
	}
	if rep.Kind != kind {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportMismatch,
			message: fmt.Sprintf("the report is of kind %q, not %q", rep.Kind, kind)}
	}
	if rep.Model.SHA256 != "" && rep.Model.SHA256 != modelSHA256 {
		return readOutcome{state: raiv1.EvaluationError, reason: raiv1.ReasonReportMismatch,
			message: fmt.Sprintf("the report is of model sha256 %s, not %s", rep.Model.SHA256, modelSHA256)}
	}
	out := readOutcome{report: rep, raw: []byte(msg), state: raiv1.EvaluationSucceeded, message: "report read"}
	if rep.State != report.StateSucceeded {
		out.state, out.reason, out.message = raiv1.EvaluationError, raiv1.ReasonEvaluatorError, rep.Message
	}
	return out
}

// headlineMetrics renders a report's metrics for status: at most
// maxStatusMetrics, by name, "null" where undefined.
func headlineMetrics(rep *report.Report) map[string]string {
	if rep == nil || len(rep.Metrics) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(rep.Metrics))
	if len(names) > maxStatusMetrics {
		names = names[:maxStatusMetrics]
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = formatMetric(rep.Metrics[n])
	}
	return out
}

func formatMetric(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

// terminationMessage returns the evaluate container's termination message
// of the newest pod in phase, or "" when there is none.
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

// reconcileEvaluations runs the candidate's evaluations and reads their
// reports.
//
// It sets Evaluated: True (EvaluationsSucceeded or NoEvaluations) when every
// requested evaluation has a valid report; False (EvaluationFailed) when one
// is in state Error, with each failure's reason and message; Unknown
// (EvaluationsPending / EvaluationsRunning) while Jobs run; Job events
// bring the model back. It acts on the retry annotation first. It does
// nothing when there is no candidate.
func (r *ResponsibleModelReconciler) reconcileEvaluations(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	if obj.Status.CandidateVersion == "" {
		return nil
	}
	kinds := requestedKinds(&obj.Spec)
	if err := r.retryFailedEvaluations(ctx, obj); err != nil {
		return err
	}
	for _, kind := range kinds {
		cur := findEvaluation(obj.Status.Evaluations, string(kind))
		next, err := r.reconcileEvaluation(ctx, obj, kind, cur)
		if err != nil {
			return err
		}
		if cur == nil || cur.State != next.State {
			done := next
			afterStatusPatch(ctx, func() { recordEvaluationTransition(done) })
		}
		setEvaluation(&obj.Status.Evaluations, next)
	}
	obj.Status.Evaluations = slices.DeleteFunc(obj.Status.Evaluations, func(e raiv1.EvaluationStatus) bool {
		return !slices.Contains(kinds, report.Kind(e.Kind))
	})
	setCondition(obj, evaluatedCondition(kinds, obj.Status.Evaluations), r.now())
	return nil
}

// reconcileEvaluation brings one evaluation forward and returns its status.
func (r *ResponsibleModelReconciler) reconcileEvaluation(ctx context.Context, obj *raiv1.ResponsibleModel, kind report.Kind, cur *raiv1.EvaluationStatus) (raiv1.EvaluationStatus, error) {
	version := obj.Spec.Version
	name := evaluationJobName(obj, kind)
	sharded := shardCount(obj, kind) > 1
	merging := sharded && cur != nil && cur.Version == version && cur.Job == mergeJobName(obj, kind)
	if merging {
		name = mergeJobName(obj, kind)
	}
	if cur != nil && cur.Version == version && cur.Job == name && isTerminal(cur.State) {
		return *cur, nil
	}
	next := raiv1.EvaluationStatus{Kind: string(kind), Version: version, Job: name, State: raiv1.EvaluationPending}

	job := &batchv1.Job{}
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, job)
	switch {
	case apierrors.IsNotFound(err):
		recorded := cur != nil && cur.Version == version && cur.Job == name
		if recorded {
			// The cache may lag behind a Job just created: ask the API server.
			err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, job)
			if err == nil {
				next.Message = fmt.Sprintf("Job %s was created", name)
				return next, nil
			}
			if !apierrors.IsNotFound(err) {
				return next, fmt.Errorf("confirm evaluation Job %q is gone: %w", name, err)
			}
			next.State, next.Reason = raiv1.EvaluationError, raiv1.ReasonJobDeleted
			next.Message = fmt.Sprintf("Job %s was deleted before it reported; set the %s annotation to a new value to run it again", name, raiv1.AnnotationRetryEvaluations)
			return next, nil
		}
		job = buildEvaluationJob(obj, kind, r.EvaluationJobs)
		if err := controllerutil.SetControllerReference(obj, job, r.Scheme); err != nil {
			return next, fmt.Errorf("own evaluation Job %q: %w", name, err)
		}
		if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
			return next, fmt.Errorf("create evaluation Job %q: %w", name, err)
		}
		next.Message = fmt.Sprintf("Job %s was created", name)
		return next, nil
	case err != nil:
		return next, fmt.Errorf("get evaluation Job %q: %w", name, err)
	}
	if cur == nil || cur.Job != name || cur.Version != version {
		// Nothing recorded: the cache may still hold a Job just deleted for
		// a retry. Only the API server's word counts.
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(job), job); apierrors.IsNotFound(err) {
			// Not recorded either: the Job's delete event brings the model
			// back, and the Job is created then.
			next.Job = ""
			next.Message = fmt.Sprintf("Job %s is being deleted before it runs again", name)
			return next, nil
		} else if err != nil {
			return next, fmt.Errorf("get evaluation Job %q: %w", name, err)
		}
	}
	if !job.DeletionTimestamp.IsZero() {
		if cur != nil && cur.Job == name && cur.Version == version {
			next.State, next.Reason = raiv1.EvaluationError, raiv1.ReasonJobDeleted
			next.Message = fmt.Sprintf("Job %s was deleted before it reported; set the %s annotation to a new value to run it again", name, raiv1.AnnotationRetryEvaluations)
			return next, nil
		}
		next.Job = ""
		next.Message = fmt.Sprintf("Job %s is being deleted before it runs again", name)
		return next, nil
	}

	outcome := observeJob(job)
	next.State, next.Reason, next.Message = outcome.state, outcome.reason, outcome.message
	if outcome.state == raiv1.EvaluationPending || outcome.state == raiv1.EvaluationRunning {
		if merging {
			// The shards are done: the evaluation runs until it is merged.
			next.State = raiv1.EvaluationRunning
			next.Message = fmt.Sprintf("%d partial reports are merged by Job %s", shardCount(obj, kind), name)
		}
		return next, nil
	}
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(obj.Namespace), client.MatchingLabels{batchv1.JobNameLabel: name}); err != nil {
		return next, fmt.Errorf("list the pods of evaluation Job %q: %w", name, err)
	}
	now := metav1.NewTime(r.now())
	next.CompletionTime = &now
	if outcome.state == raiv1.EvaluationError {
		// A failed evaluator still writes an Error report: quote it.
		if msg, _ := terminationMessage(pods.Items, corev1.PodFailed); msg != "" {
			if rep, err := report.Parse([]byte(msg)); err == nil && rep.Message != "" {
				next.Message += "; the evaluator said: " + rep.Message
			}
		}
		return next, nil
	}
	if sharded && !merging {
		return r.startMerge(ctx, obj, kind, pods.Items, next)
	}
	msg, _ := terminationMessage(pods.Items, corev1.PodSucceeded)
	read := judgeReport(msg, kind, string(obj.Spec.Model.SHA256))
	next.State, next.Reason, next.Message = read.state, read.reason, read.message
	if read.report == nil {
		return next, nil
	}
	next.Metrics = headlineMetrics(read.report)
	ref, err := r.storeEvidence(ctx, obj, map[string]string{string(kind) + ".json": string(read.raw)})
	if err != nil {
		return next, fmt.Errorf("store the %s report: %w", kind, err)
	}
	next.ReportRef = ref
	return next, nil
}

// startMerge reads the partial reports of a completed Indexed Job, keeps
// them in the evidence ConfigMap and starts the Job that merges them. A
// shard without a valid partial report makes the evaluation an Error.
func (r *ResponsibleModelReconciler) startMerge(ctx context.Context, obj *raiv1.ResponsibleModel, kind report.Kind, pods []corev1.Pod, next raiv1.EvaluationStatus) (raiv1.EvaluationStatus, error) {
	n := int(shardCount(obj, kind))
	byIndex := map[int][]corev1.Pod{}
	for _, p := range pods {
		idx := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		if idx == "" {
			idx = p.Labels[batchv1.JobCompletionIndexAnnotation]
		}
		if i, err := strconv.Atoi(idx); err == nil {
			byIndex[i] = append(byIndex[i], p)
		}
	}
	parts := map[string]string{}
	for i := range n {
		msg, _ := terminationMessage(byIndex[i], corev1.PodSucceeded)
		read := judgeReport(msg, kind, string(obj.Spec.Model.SHA256))
		if read.report != nil && (read.report.Shard == nil || read.report.Shard.Index != i || read.report.Shard.Count != n) {
			read.state, read.reason, read.message = raiv1.EvaluationError, raiv1.ReasonReportMismatch, fmt.Sprintf("the report is not of shard %d/%d", i, n)
		}
		if read.state != raiv1.EvaluationSucceeded {
			next.State, next.Reason, next.Message = read.state, read.reason, fmt.Sprintf("shard %d/%d: %s", i, n, read.message)
			return next, nil
		}
		parts[shardKey(kind, i)] = string(read.raw)
	}
	if _, err := r.storeEvidence(ctx, obj, parts); err != nil {
		return next, fmt.Errorf("store the %d partial %s reports: %w", n, kind, err)
	}
	job := buildMergeJob(obj, kind, r.EvaluationJobs)
	if err := controllerutil.SetControllerReference(obj, job, r.Scheme); err != nil {
		return next, fmt.Errorf("own merge Job %q: %w", job.Name, err)
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return next, fmt.Errorf("create merge Job %q: %w", job.Name, err)
	}
	next.Job, next.State, next.Reason, next.CompletionTime = job.Name, raiv1.EvaluationRunning, "", nil
	next.Message = fmt.Sprintf("%d partial reports are merged by Job %s", n, job.Name)
	return next, nil
}

// storeEvidence adds entries to the version's evidence ConfigMap.
func (r *ResponsibleModelReconciler) storeEvidence(ctx context.Context, obj *raiv1.ResponsibleModel, entries map[string]string) (*raiv1.LocalObjectReference, error) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: evidenceConfigMapName(obj.Name, obj.Spec.Version), Namespace: obj.Namespace}}
	var kinds []string
	for _, k := range requestedKinds(&obj.Spec) {
		kinds = append(kinds, string(k))
	}
	_, err := controllerutil.CreateOrPatch(ctx, r.Client, cm, func() error {
		cm.Labels = map[string]string{
			raiv1.LabelModel: obj.Name, raiv1.LabelVersion: obj.Spec.Version,
			raiv1.LabelComponent: "evidence", raiv1.LabelManagedBy: "rmodel-operator",
		}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[annotationRequested] = strings.Join(kinds, ",")
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		maps.Copy(cm.Data, entries)
		return controllerutil.SetControllerReference(obj, cm, r.Scheme)
	})
	if err != nil {
		return nil, fmt.Errorf("write ConfigMap %q: %w", cm.Name, err)
	}
	return &raiv1.LocalObjectReference{Name: cm.Name}, nil
}

// retryFailedEvaluations acts on a new value of the retry annotation: it
// deletes the candidate's Jobs whose evaluation is in state Error, forgets
// their outcome, and lets a rolled-back candidate roll out again.
func (r *ResponsibleModelReconciler) retryFailedEvaluations(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	want := obj.Annotations[raiv1.AnnotationRetryEvaluations]
	if want == obj.Status.ObservedRetry {
		return nil
	}
	logger := log.FromContext(ctx)
	var kept []raiv1.EvaluationStatus
	for _, e := range obj.Status.Evaluations {
		if e.State != raiv1.EvaluationError || e.Version != obj.Spec.Version {
			kept = append(kept, e)
			continue
		}
		if e.Job != "" {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: e.Job, Namespace: obj.Namespace}}
			if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete failed evaluation Job %q to retry it: %w", e.Job, err)
			}
		}
		logger.Info("retrying evaluation", "kind", e.Kind, "version", e.Version, "job", e.Job, "previousReason", e.Reason)
	}
	obj.Status.Evaluations = kept
	obj.Status.FailedVersion, obj.Status.FailedModelSHA256 = "", ""
	obj.Status.ObservedRetry = want
	// The decision of the failed evidence no longer holds.
	if obj.Status.LastDecision != nil && obj.Status.LastDecision.Version == obj.Spec.Version {
		setCondition(obj, metav1.Condition{Type: raiv1.ConditionPolicyAllowed, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonAwaitingDecision,
			Message: "the failed evaluations run again; the policy decides when they finish"}, r.now())
	}
	return nil
}

// loadEvidence reads the reports of version from its evidence ConfigMap.
// It returns the reports by kind and the kinds the version was asked for;
// a missing ConfigMap is no evidence.
func (r *ResponsibleModelReconciler) loadEvidence(ctx context.Context, obj *raiv1.ResponsibleModel, version string) (map[string]*report.Report, []string, error) {
	// Read past the cache: the evaluations step may have written a report
	// into this ConfigMap moments ago, and a stale copy would make the
	// policy judge a finished evaluation as missing.
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: evidenceConfigMapName(obj.Name, version)}, cm)
	if apierrors.IsNotFound(err) {
		return map[string]*report.Report{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the evidence of version %s: %w", version, err)
	}
	out := map[string]*report.Report{}
	for key, raw := range cm.Data {
		kind, ok := strings.CutSuffix(key, ".json")
		if !ok || strings.Contains(kind, ".shard-") {
			continue // partial reports of a sharded evaluation
		}
		rep, err := report.Parse([]byte(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("evidence ConfigMap %q key %q: %w", cm.Name, key, err)
		}
		out[kind] = rep
	}
	var requested []string
	if s := cm.Annotations[annotationRequested]; s != "" {
		requested = strings.Split(s, ",")
	}
	return out, requested, nil
}

func isTerminal(s raiv1.EvaluationState) bool {
	return s == raiv1.EvaluationSucceeded || s == raiv1.EvaluationError
}

// evaluationsDone is true when every requested kind has a terminal status.
func evaluationsDone(kinds []report.Kind, evals []raiv1.EvaluationStatus) bool {
	for _, k := range kinds {
		e := findEvaluation(evals, string(k))
		if e == nil || !isTerminal(e.State) {
			return false
		}
	}
	return true
}

func findEvaluation(evals []raiv1.EvaluationStatus, kind string) *raiv1.EvaluationStatus {
	for i := range evals {
		if evals[i].Kind == kind {
			return &evals[i]
		}
	}
	return nil
}

// setEvaluation replaces the entry of e.Kind, or appends it, keeping the
// list sorted by kind.
func setEvaluation(evals *[]raiv1.EvaluationStatus, e raiv1.EvaluationStatus) {
	if cur := findEvaluation(*evals, e.Kind); cur != nil {
		*cur = e
		return
	}
	*evals = append(*evals, e)
	sort.Slice(*evals, func(i, j int) bool { return (*evals)[i].Kind < (*evals)[j].Kind })
}
