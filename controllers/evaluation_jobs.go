package controllers

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Evaluation Jobs: what the operator asks `rai evaluate <kind>` to do, and
// the Job (or, for a sharded evaluation, the Indexed Job and its merge Job)
// that runs it. Every builder here is pure.

const (
	// evaluateContainer is the name of the evaluation Job's container.
	evaluateContainer = "evaluate"
	// reportPath is where the evaluator writes its full report inside the pod.
	reportPath = "/work/report.json"
	// evaluationJobTTL keeps a finished Job for a day: its outcome is in
	// status and its report in the evidence ConfigMap by then.
	evaluationJobTTL = int32(24 * 3600)
	// jobCompletionIndexEnv carries an Indexed Job pod's index.
	jobCompletionIndexEnv = "JOB_COMPLETION_INDEX"
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
	if e.Counterfactual != nil {
		kinds = append(kinds, report.KindCounterfactual)
	}
	if spec.Monitoring != nil && e.Dataset != nil {
		kinds = append(kinds, report.KindReference)
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
	// ArtifactCacheHostPath is the node directory that serving and
	// evaluation pods keep downloaded artifacts in by digest (see
	// addArtifactCache); empty means no node-local cache.
	ArtifactCacheHostPath string
	// QueueName is the Kueue LocalQueue of this model's evaluation Jobs
	// (resolved per model: the spec's, else the PromotionPolicies'); empty
	// means none.
	QueueName string
}

// LabelKueueQueueName puts a Job in a Kueue LocalQueue.
const LabelKueueQueueName = "kueue.x-k8s.io/queue-name"

// gpuEvaluation reports whether kind runs on spec.evaluations.job.gpu: the
// kinds that score the data set through the model many times.
func gpuEvaluation(obj *raiv1.ResponsibleModel, kind report.Kind) bool {
	return obj.Spec.Evaluations.Job.GPU != nil && (kind == report.KindFairness || kind == report.KindRobustness)
}

// evaluationArgs returns the `rai evaluate <kind>` arguments for the spec.
// Flag names and the defaults of unset fields come from internal/contract,
// which rai registers its flags from.
func evaluationArgs(obj *raiv1.ResponsibleModel, kind report.Kind) []string {
	spec := &obj.Spec
	ev := spec.Evaluations
	args := []string{contract.CommandEvaluate, string(kind)}
	flag := func(name, value string) { args = append(args, contract.Arg(name), value) }
	flag(contract.FlagModel, string(spec.Model.URI))
	flag(contract.FlagSHA256, string(spec.Model.SHA256))
	// dataset is the data this kind reads: robustness may bring its own.
	dataset := ev.Dataset
	if kind == report.KindRobustness && ev.Robustness != nil && ev.Robustness.Dataset != nil {
		dataset = ev.Robustness.Dataset
	}
	data := func() {
		if d := dataset; d != nil {
			flag(contract.FlagData, string(d.URI))
			flag(contract.FlagDataSHA256, string(d.SHA256))
			flag(contract.FlagLabel, d.LabelColumn)
		}
	}
	favorable := func() {
		if d := dataset; d != nil && d.FavorableLabel != "" {
			flag(contract.FlagFavorable, d.FavorableLabel)
		}
	}
	threshold := func() {
		if f := ev.Fairness; f != nil && f.PredictionThreshold != "" {
			flag(contract.FlagThreshold, string(f.PredictionThreshold))
		}
	}
	// A text model brings its tokenizer, labels and length to every kind,
	// and the data sets it reads name their text column.
	isText := spec.Model.Task.IsText()
	if isText {
		flag(contract.FlagTask, string(spec.Model.Task))
		if t := spec.Model.Tokenizer; t != nil {
			flag(contract.FlagTokenizer, string(t.URI))
			flag(contract.FlagTokenizerSHA256, string(t.SHA256))
		}
		if len(spec.Model.Labels) > 0 {
			flag(contract.FlagLabels, strings.Join(spec.Model.Labels, ","))
		}
		if n := spec.Model.MaxLength; n != nil {
			flag(contract.FlagMaxLength, strconv.Itoa(int(*n)))
		}
	}
	textColumn := func(d *raiv1.DatasetSpec) {
		if isText && d != nil && d.TextColumn != "" {
			flag(contract.FlagTextColumn, d.TextColumn)
		}
	}
	switch kind {
	case report.KindFairness:
		f := ev.Fairness
		data()
		textColumn(dataset)
		favorable()
		flag(contract.FlagSensitive, strings.Join(f.SensitiveColumns, ","))
		if len(f.Privileged) > 0 {
			var pairs []string
			for _, p := range f.Privileged {
				pairs = append(pairs, p.Column+"="+p.Value)
			}
			flag(contract.FlagPrivileged, strings.Join(pairs, ","))
		}
		threshold()
		if spec.Model.OutputName != "" {
			flag(contract.FlagOutput, spec.Model.OutputName)
		}
	case report.KindPrivacy:
		p := ev.Privacy
		flag(contract.FlagDelta, string(p.Delta))
		if p.ParametersFrom == raiv1.DPParametersFromSpec && p.DPSGD != nil {
			flag(contract.FlagNoiseMultiplier, string(p.DPSGD.NoiseMultiplier))
			flag(contract.FlagSampleRate, string(p.DPSGD.SampleRate))
			flag(contract.FlagSteps, strconv.FormatInt(p.DPSGD.Steps, 10))
		}
		if a := p.MembershipAudit; a != nil {
			flag(contract.FlagMembers, string(a.Members.URI))
			flag(contract.FlagMembersSHA256, string(a.Members.SHA256))
			flag(contract.FlagNonMembers, string(a.NonMembers.URI))
			flag(contract.FlagNonMembersSHA256, string(a.NonMembers.SHA256))
			if d := ev.Dataset; d != nil {
				flag(contract.FlagLabel, d.LabelColumn)
			}
			textColumn(ev.Dataset)
			favorable()
		}
	case report.KindRobustness:
		r := ev.Robustness
		data()
		textColumn(dataset)
		favorable()
		if isText {
			// A text classifier is attacked with word edits, not noise.
			flag(contract.FlagMaxEdits, strconv.Itoa(int(ptr.Deref(r.MaxEdits, contract.DefaultMaxEdits))))
			if r.TypoRate != "" {
				flag(contract.FlagTypoRate, string(r.TypoRate))
			}
			threshold()
			break
		}
		flag(contract.FlagSigma, string(r.Sigma))
		flag(contract.FlagN0, strconv.Itoa(int(ptr.Deref(r.SelectionSamples, contract.DefaultSelectionSamples))))
		flag(contract.FlagN, strconv.Itoa(int(ptr.Deref(r.CertificationSamples, contract.DefaultCertificationSamples))))
		if r.Alpha != "" {
			flag(contract.FlagAlpha, string(r.Alpha))
		}
		if len(r.Radii) > 0 {
			radii := make([]string, len(r.Radii))
			for i, x := range r.Radii {
				radii[i] = string(x)
			}
			flag(contract.FlagRadii, strings.Join(radii, ","))
		}
		threshold()
	case report.KindCounterfactual:
		data()
		textColumn(dataset)
		favorable()
		flag(contract.FlagTermPairs, string(ev.Counterfactual.TermPairs.URI))
		flag(contract.FlagTermPairsSHA256, string(ev.Counterfactual.TermPairs.SHA256))
		threshold()
	case report.KindExplain:
		data()
		textColumn(dataset)
		favorable()
		if isText {
			// Each sampled text gets a LIME explanation (and exact Shapley
			// values when it is short).
			flag(contract.FlagSamples, strconv.Itoa(int(ptr.Deref(ev.Explanations.Samples, contract.DefaultShapleyRows))))
			break
		}
		// explanations.samples counts the rows that get Shapley values; rai
		// draws them from its row sample, which grows to hold them.
		rows := int(ptr.Deref(ev.Explanations.Samples, contract.DefaultShapleyRows))
		if rows > contract.DefaultExplainSamples {
			flag(contract.FlagSamples, strconv.Itoa(rows))
		}
		flag(contract.FlagShapleyRows, strconv.Itoa(rows))
	case report.KindReference:
		data()
		favorable()
		if f := ev.Fairness; f != nil && len(f.SensitiveColumns) > 0 {
			flag(contract.FlagSensitive, strings.Join(f.SensitiveColumns, ","))
		}
		threshold()
		if spec.Model.OutputName != "" {
			flag(contract.FlagOutput, spec.Model.OutputName)
		}
	}
	flag(contract.FlagModelName, obj.Name)
	flag(contract.FlagModelVersion, spec.Version)
	flag(contract.FlagReport, reportPath)
	// The termination log is named explicitly: rai writes its default only
	// where the file already exists, and a node that runs pods as local
	// processes maps the path only when it appears in the arguments.
	flag(contract.FlagTerminationLog, contract.DefaultTerminationLog)
	return args
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
	if kind != report.KindFairness && kind != report.KindRobustness || obj.Spec.Model.Task.IsText() {
		// Text evaluations run in one pod: their reports do not merge.
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
		raiv1.LabelManagedBy:      managerName,
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
		Env:                      append([]corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}}, storageEnv(obj)...),
		Resources:                *jobSpec.Resources.DeepCopy(),
		SecurityContext:          restrictedContainerSecurityContext(),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "work", MountPath: "/work"},
			{Name: "tmp", MountPath: "/tmp"},
		},
	}
	if gpuEvaluation(obj, kind) {
		container.Args = append(container.Args, contract.Arg(contract.FlagDevice), contract.DeviceCUDA)
	}
	job := evaluationJobShell(obj, kind, evaluationJobName(obj, kind), container, opts)
	if gpuEvaluation(obj, kind) {
		pod := &job.Spec.Template.Spec
		addGPU(pod, &pod.Containers[0], obj, obj.Spec.Evaluations.Job.GPU)
	}
	addArtifactStorage(&job.Spec.Template.Spec, evaluateContainer, obj, opts.ArtifactCacheHostPath)
	if n := shardCount(obj, kind); n > 1 {
		// An Indexed Job: pod i evaluates shard i/N and reports it.
		job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		job.Spec.Completions, job.Spec.Parallelism = ptr.To(n), ptr.To(n)
		c := &job.Spec.Template.Spec.Containers[0]
		c.Env = append(c.Env, corev1.EnvVar{Name: jobCompletionIndexEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"}}})
		c.Args = append(c.Args, contract.Arg(contract.FlagShard), fmt.Sprintf("$(%s)/%d", jobCompletionIndexEnv, n))
	}
	return job
}

// buildMergeJob returns the Job that merges the partial reports of a
// sharded evaluation, which it reads from the parts ConfigMap; digests[i]
// is the sha256 of part i as the operator read it from shard i's pod, and
// the merge refuses a part with another digest.
func buildMergeJob(obj *raiv1.ResponsibleModel, kind report.Kind, opts EvaluationJobOptions, digests []string) *batchv1.Job {
	n := int(shardCount(obj, kind))
	args := []string{contract.CommandEvaluate, contract.CommandMerge,
		contract.Arg(contract.FlagReport), reportPath, contract.Arg(contract.FlagTerminationLog), contract.DefaultTerminationLog}
	for _, d := range digests {
		args = append(args, contract.Arg(contract.FlagPartSHA256), d)
	}
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
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: partsConfigMapName(evaluationJobName(obj, kind))}, Items: items}}})
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
	podLabels := maps.Clone(labels)
	var suspend *bool
	if opts.QueueName != "" {
		// Kueue admits the Job: it unsuspends it when the queue's
		// ClusterQueue has quota for the pod's requests.
		labels[LabelKueueQueueName] = opts.QueueName
		suspend = ptr.To(true)
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
			Suspend:                 suspend,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
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
