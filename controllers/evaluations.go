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

// Observing evaluations: one Job per requested kind and candidate (version
// and model digest), running `rai evaluate <kind>` from the runtime image
// (evaluation_jobs.go builds them). The pod writes its compact report
// (≤ 4 KiB) to its termination message; the operator reads it only from a
// pod the Job it created controls (trust.go), keeps it in an immutable
// evidence ConfigMap with its digest recorded in status.evaluations
// (evidence.go), and summarizes it there.

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
	if ptr.Deref(job.Spec.Suspend, false) {
		if q := job.Labels[LabelKueueQueueName]; q != "" {
			return jobOutcome{state: raiv1.EvaluationPending, reason: raiv1.ReasonQueued,
				message: fmt.Sprintf("Job %s waits in Kueue LocalQueue %s for quota", job.Name, q)}
		}
		return jobOutcome{state: raiv1.EvaluationPending, message: fmt.Sprintf("Job %s is suspended", job.Name)}
	}
	return jobOutcome{state: raiv1.EvaluationPending, message: fmt.Sprintf("Job %s is waiting for its pod", job.Name)}
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
	return nil
}

// reconcileEvaluation brings one evaluation forward and returns its status.
// An evaluation belongs to the candidate's identity (version and model
// digest) and to the Job the operator created for it, by UID.
func (r *ResponsibleModelReconciler) reconcileEvaluation(ctx context.Context, obj *raiv1.ResponsibleModel, kind report.Kind, cur *raiv1.EvaluationStatus) (raiv1.EvaluationStatus, error) {
	version, digest := obj.Spec.Version, string(obj.Spec.Model.SHA256)
	ours := cur != nil && cur.Version == version && cur.ModelSHA256 == digest
	name := evaluationJobName(obj, kind)
	sharded := shardCount(obj, kind) > 1
	merging := sharded && ours && cur.Job == mergeJobName(obj, kind)
	if merging {
		name = mergeJobName(obj, kind)
	}
	recorded := ours && cur.Job == name && cur.JobUID != ""
	if recorded && isTerminal(cur.State) {
		return *cur, nil
	}
	if ours && cur.Job == name && cur.Reason == raiv1.ReasonEvidenceReused && cur.State == raiv1.EvaluationSucceeded {
		return *cur, nil
	}
	if !ours {
		// A rollback to a version promoted before reads its evidence (a
		// sharded evaluation's is its merge Job's report).
		job := name
		if sharded {
			job = mergeJobName(obj, kind)
		}
		if reused, ok, err := r.recordedEvidence(ctx, obj, kind, job); err != nil || ok {
			return reused, err
		}
	}
	next := raiv1.EvaluationStatus{Kind: string(kind), Version: version, ModelSHA256: digest, Job: name, State: raiv1.EvaluationPending}
	if recorded {
		next.JobUID = cur.JobUID
	}
	deleted := func() raiv1.EvaluationStatus {
		next.State, next.Reason = raiv1.EvaluationError, raiv1.ReasonJobDeleted
		next.Message = fmt.Sprintf("Job %s was deleted before it reported; set the %s annotation to a new value to run it again", name, raiv1.AnnotationRetryEvaluations)
		return next
	}

	job := &batchv1.Job{}
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, job)
	switch {
	case apierrors.IsNotFound(err) && recorded:
		// The cache may lag behind a Job just created: ask the API server.
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, job); apierrors.IsNotFound(err) {
			return deleted(), nil
		} else if err != nil {
			return next, fmt.Errorf("confirm evaluation Job %q is gone: %w", name, err)
		}
	case apierrors.IsNotFound(err) && merging:
		// startMerge creates the merge Job and records it; without a
		// record there is nothing to wait for.
		return deleted(), nil
	case apierrors.IsNotFound(err):
		opts, err := r.evaluationJobOptions(ctx, obj, kind)
		if err != nil {
			return next, err
		}
		job = buildEvaluationJob(obj, kind, opts)
		if err := controllerutil.SetControllerReference(obj, job, r.Scheme); err != nil {
			return next, fmt.Errorf("own evaluation Job %q: %w", name, err)
		}
		if err := r.Create(ctx, job); apierrors.IsAlreadyExists(err) {
			// Not created by this reconcile: the next one finds it
			// unrecorded and replaces it.
			next.Message = fmt.Sprintf("Job %s exists but was not created by the operator for this evaluation", name)
			return next, nil
		} else if apierrors.IsInvalid(err) {
			return next, specRefused(err, "the API server refused evaluation Job %s, which the spec describes", name)
		} else if err != nil {
			return next, fmt.Errorf("create evaluation Job %q: %w", name, err)
		}
		next.JobUID = string(job.UID)
		// What the next look at the Job will say (waiting for its pod, or
		// queued), so that it changes nothing in the status.
		outcome := observeJob(job)
		next.State, next.Reason, next.Message = outcome.state, outcome.reason, outcome.message
		return next, nil
	case err != nil:
		return next, fmt.Errorf("get evaluation Job %q: %w", name, err)
	}

	if why := trustedJob(job, next.JobUID); why != "" {
		// Only the API server's word counts: the cache may still hold a
		// Job just deleted (for a retry), or not yet the one just created.
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(job), job); apierrors.IsNotFound(err) {
			if recorded {
				return deleted(), nil
			}
			next.Message = fmt.Sprintf("Job %s is being deleted before it runs again", name)
			return next, nil
		} else if err != nil {
			return next, fmt.Errorf("get evaluation Job %q: %w", name, err)
		}
		why = trustedJob(job, next.JobUID)
		switch {
		case why == "":
		case recorded:
			// The Job the operator created was replaced by another of the
			// same name: nothing it says is evidence.
			next.State, next.Reason = raiv1.EvaluationError, raiv1.ReasonReportUntrusted
			next.Message = fmt.Sprintf("%s; its report is ignored. Set the %s annotation to a new value to run the evaluation again", why, raiv1.AnnotationRetryEvaluations)
			return next, nil
		case !job.DeletionTimestamp.IsZero():
			next.Message = fmt.Sprintf("Job %s is being deleted before it runs again", name)
			return next, nil
		default:
			// A Job the operator has no record of: made by someone else
			// under the operator's name, or by a reconcile whose status
			// patch was lost. Either way it cannot report; it is replaced.
			if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID}); client.IgnoreNotFound(err) != nil {
				return next, fmt.Errorf("delete unrecorded evaluation Job %q: %w", name, err)
			}
			next.Message = fmt.Sprintf("%s; it is deleted and the evaluation runs again", why)
			r.eventAfterStatusPatch(ctx, obj, job, corev1.EventTypeWarning, raiv1.ReasonReportUntrusted, "Evaluate", "%s; it is deleted and the evaluation runs again", why)
			return next, nil
		}
	}
	if !job.DeletionTimestamp.IsZero() {
		return deleted(), nil
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
	listed, err := r.finishedJobPods(ctx, job)
	if err != nil {
		return next, err
	}
	now := metav1.NewTime(r.now())
	next.CompletionTime = &now
	pods, untrusted := trustedPods(job, listed)
	if len(untrusted) > 0 {
		next.State, next.Reason, next.Message = raiv1.EvaluationError, raiv1.ReasonReportUntrusted, untrustedMessage(name, untrusted)
		r.eventAfterStatusPatch(ctx, obj, job, corev1.EventTypeWarning, raiv1.ReasonReportUntrusted, "Evaluate", "%s", truncate(next.Message, maxEventNote))
		return next, nil
	}
	if outcome.state == raiv1.EvaluationError {
		// A failed evaluator still writes an Error report: quote it.
		if msg, _ := terminationMessage(pods, corev1.PodFailed); msg != "" {
			if rep, err := report.Parse([]byte(msg)); err == nil && rep.Message != "" {
				next.Message += "; the evaluator said: " + rep.Message
			}
		}
		return next, nil
	}
	if sharded && !merging {
		return r.startMerge(ctx, obj, kind, pods, next)
	}
	msg, _ := terminationMessage(pods, corev1.PodSucceeded)
	read := trustedReport(msg, expectedFor(obj, kind))
	next.State, next.Reason, next.Message = read.state, read.reason, read.message
	if read.state != raiv1.EvaluationSucceeded {
		return next, nil
	}
	next.Metrics = headlineMetrics(read.report)
	ref := reportConfigMapName(name)
	data := map[string]string{reportKey(string(kind)): string(read.raw)}
	if kind == report.KindReference {
		line, err := r.referenceLine(ctx, pods, read.report)
		if err != nil {
			next.State, next.Reason, next.Message = raiv1.EvaluationError, raiv1.ReasonReportMissing, "the reference summary: "+err.Error()
			return next, nil
		}
		data[referenceKey] = line
	}
	if err := r.storeEvidence(ctx, obj, ref, kind, data); err != nil {
		return next, fmt.Errorf("store the %s report: %w", kind, err)
	}
	next.ReportRef = &raiv1.LocalObjectReference{Name: ref}
	next.ReportSHA256 = digestOf(read.raw)
	return next, nil
}

// startMerge reads the partial reports of a completed Indexed Job from its
// trusted pods, keeps them in an immutable ConfigMap and starts the Job
// that merges them, which refuses a part whose digest is not the one read
// here. A shard without a valid partial report makes the evaluation an
// Error.
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
	digests := make([]string, n)
	want := expectedFor(obj, kind)
	for i := range n {
		msg, _ := terminationMessage(byIndex[i], corev1.PodSucceeded)
		read := trustedReport(msg, want)
		if read.report != nil && read.state == raiv1.EvaluationSucceeded && (read.report.Shard == nil || read.report.Shard.Index != i || read.report.Shard.Count != n) {
			read.state, read.reason, read.message = raiv1.EvaluationError, raiv1.ReasonReportMismatch, fmt.Sprintf("the report is not of shard %d/%d", i, n)
		}
		if read.state != raiv1.EvaluationSucceeded {
			next.State, next.Reason, next.Message = read.state, read.reason, fmt.Sprintf("shard %d/%d: %s", i, n, read.message)
			return next, nil
		}
		parts[shardKey(kind, i)] = string(read.raw)
		digests[i] = digestOf(read.raw)
	}
	if err := r.storeEvidence(ctx, obj, partsConfigMapName(next.Job), kind, parts); err != nil {
		return next, fmt.Errorf("store the %d partial %s reports: %w", n, kind, err)
	}
	job := buildMergeJob(obj, kind, r.EvaluationJobs, digests)
	if err := controllerutil.SetControllerReference(obj, job, r.Scheme); err != nil {
		return next, fmt.Errorf("own merge Job %q: %w", job.Name, err)
	}
	if err := r.Create(ctx, job); apierrors.IsAlreadyExists(err) {
		// Not created here: an unrecorded merge Job is not trusted. It is
		// replaced, and the shards run again.
		existing := &batchv1.Job{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(job), existing); err == nil {
			_ = r.Delete(ctx, existing, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &existing.UID})
		}
		next.State, next.Reason, next.CompletionTime = raiv1.EvaluationPending, "", nil
		next.Message = fmt.Sprintf("merge Job %s exists but was not created by the operator; it is deleted", job.Name)
		return next, nil
	} else if err != nil {
		return next, fmt.Errorf("create merge Job %q: %w", job.Name, err)
	}
	next.Job, next.JobUID, next.State, next.Reason, next.CompletionTime = job.Name, string(job.UID), raiv1.EvaluationRunning, "", nil
	next.Message = fmt.Sprintf("%d partial reports are merged by Job %s", n, job.Name)
	return next, nil
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
		if e.State != raiv1.EvaluationError || e.Version != obj.Spec.Version || e.ModelSHA256 != string(obj.Spec.Model.SHA256) {
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
	return nil
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

// evaluationJobOptions are the manager's evaluation-pod settings with this
// model's queue (the spec's, else the first selecting PromotionPolicy's by
// name), after making the GPU claim template a DRA evaluation pod claims.
func (r *ResponsibleModelReconciler) evaluationJobOptions(ctx context.Context, obj *raiv1.ResponsibleModel, kind report.Kind) (EvaluationJobOptions, error) {
	opts := r.EvaluationJobs
	opts.QueueName = obj.Spec.Evaluations.Job.QueueName
	if opts.QueueName == "" {
		platform, err := r.platformFor(ctx, obj)
		if err != nil {
			return opts, err
		}
		policies := slices.Clone(platform.Policies)
		slices.SortFunc(policies, func(a, b raiv1.PromotionPolicy) int { return strings.Compare(a.Name, b.Name) })
		for _, p := range policies {
			if p.Spec.EvaluationQueueName != "" {
				opts.QueueName = p.Spec.EvaluationQueueName
				break
			}
		}
	}
	if gpuEvaluation(obj, kind) {
		if err := r.ensureGPUClaimTemplate(ctx, obj, obj.Spec.Evaluations.Job.GPU); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// finishedJobPods lists the pods of a finished Job: from the cache, unless
// the cache has not yet seen as many finished pods of the Job as its status
// counts (the Job and its pods are watched separately, and the Job
// controller writes the Job's status after the pods': the Job's event can
// arrive first, and a pod the cache still shows running has no report yet);
// then from the API server. TestFinishedJobPodsPastALaggingCache shows the
// case.
func (r *ResponsibleModelReconciler) finishedJobPods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	sel := []client.ListOption{client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}}
	listed := &corev1.PodList{}
	if err := r.List(ctx, listed, sel...); err != nil {
		return nil, fmt.Errorf("list the pods of evaluation Job %q: %w", job.Name, err)
	}
	if finishedPods(job, listed.Items) >= job.Status.Succeeded+job.Status.Failed {
		return listed.Items, nil
	}
	listed = &corev1.PodList{}
	if err := r.APIReader.List(ctx, listed, sel...); err != nil {
		return nil, fmt.Errorf("list the pods of evaluation Job %q: %w", job.Name, err)
	}
	return listed.Items, nil
}

// finishedPods counts the pods controlled by job that have ended.
func finishedPods(job *batchv1.Job, pods []corev1.Pod) int32 {
	var n int32
	for i := range pods {
		p := &pods[i]
		if owner := metav1.GetControllerOf(p); owner == nil || owner.UID != job.UID {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			n++
		}
	}
	return n
}
