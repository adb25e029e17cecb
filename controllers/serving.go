package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
)

// The serving workload: a Deployment running `rai serve` for one version and
// a Service in front of it. The builders are pure; reconcileServing and the
// helpers after them keep the workload on the version that should serve.

const (
	// serveContainer is the name of the serving container.
	serveContainer = "serve"
	// gpuResource is the NVIDIA device plugin's whole-GPU resource.
	gpuResource = corev1.ResourceName("nvidia.com/gpu")
	// GPU Feature Discovery labels.
	gpuProductLabel = "nvidia.com/gpu.product"
	gpuMemoryLabel  = "nvidia.com/gpu.memory"
	// auditLogDir holds the serving audit log.
	auditLogDir = "/var/log/rai"
)

// servedModel is the version a Deployment runs.
type servedModel struct {
	Version string
	URI     string
	SHA256  string
	// Text is a text model's task, tokenizer, labels and length: part of
	// what serves (nil for a binary classifier).
	Text *raiv1.TextModelConfig
}

// textServeArgs are the `rai serve` flags of a text model.
func textServeArgs(t *raiv1.TextModelConfig) []string {
	if t == nil {
		return nil
	}
	args := []string{contract.Arg(contract.FlagTask), string(t.Task),
		contract.Arg(contract.FlagTokenizer), string(t.Tokenizer.URI), contract.Arg(contract.FlagTokenizerSHA256), string(t.Tokenizer.SHA256)}
	if len(t.Labels) > 0 {
		args = append(args, contract.Arg(contract.FlagLabels), strings.Join(t.Labels, ","))
	}
	if t.MaxLength != nil {
		args = append(args, contract.Arg(contract.FlagMaxLength), strconv.Itoa(int(*t.MaxLength)))
	}
	return args
}

// LabelModelDigest on a serving pod (and its ReplicaSet) names the model
// digest it serves, cut to fit a label value: a version name does not
// identify an artifact.
const LabelModelDigest = "rai.responsible-ai.dev/model-digest"

// digestLabel is the LabelModelDigest value of a sha256: its first 40 hex
// digits.
func digestLabel(sha string) string {
	if len(sha) > 40 {
		return sha[:40]
	}
	return sha
}

// shortDigest is a sha256 shortened for messages.
func shortDigest(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// servesModel reports whether a serving pod template runs m: its version
// and digest labels and the full digest the server is told to check.
func servesModel(t *corev1.PodTemplateSpec, m servedModel) bool {
	if t.Labels[raiv1.LabelVersion] != m.Version || t.Labels[LabelModelDigest] != digestLabel(m.SHA256) {
		return false
	}
	for _, c := range t.Spec.Containers {
		if c.Name != serveContainer {
			continue
		}
		sha := ""
		for i := 0; i+1 < len(c.Args); i++ {
			if c.Args[i] == contract.Arg(contract.FlagSHA256) {
				sha = c.Args[i+1]
			}
		}
		// A text model serves with its tokenizer, labels and length.
		return sha == m.SHA256 && slices.Equal(textArgsOf(c.Args), textServeArgs(m.Text))
	}
	return false
}

// servingSelector selects the pods of a model's serving Deployment across
// versions, so that a rolling update replaces one version with the next.
func servingSelector(obj *raiv1.ResponsibleModel) map[string]string {
	return map[string]string{raiv1.LabelModel: obj.Name, raiv1.LabelComponent: "serving"}
}

// buildServingDeployment returns the Deployment that serves m with the
// spec's serving settings. It sets no owner reference. The `rai serve` flags,
// the probe paths and the defaults of unset fields come from
// internal/contract, which rai registers its flags from.
func buildServingDeployment(obj *raiv1.ResponsibleModel, m servedModel, image string) *appsv1.Deployment {
	sv := obj.Spec.Serving
	port := servingPort(obj)
	labels := servingSelector(obj)
	labels[raiv1.LabelManagedBy] = managerName
	podLabels := maps.Clone(labels)
	podLabels[raiv1.LabelVersion] = m.Version
	podLabels[LabelModelDigest] = digestLabel(m.SHA256)

	resources := *sv.Resources.DeepCopy()
	device := contract.DefaultDevice
	var tolerations []corev1.Toleration
	for _, t := range sv.Tolerations {
		tolerations = append(tolerations, *t.DeepCopy())
	}
	var gpuPod corev1.PodSpec
	if sv.GPU != nil {
		device = contract.DeviceCUDA
	}
	batchDelay := contract.DefaultMaxBatchDelay.String()
	if sv.MaxBatchDelay != nil {
		batchDelay = sv.MaxBatchDelay.Duration.String()
	}
	maxBatch := sv.MaxBatchSize
	if maxBatch == 0 {
		maxBatch = contract.DefaultMaxBatchSize
	}
	// Every integer a probe has is set, defaults included: a zero integer
	// the API server defaults would make the Deployment read as changed
	// (DeepDerivative skips unset strings and pointers, not zero integers)
	// and be written again on every reconcile.
	probe := func(path string, period, failures, timeout int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: timeout, SuccessThreshold: 1,
		}
	}
	container := corev1.Container{
		Name:    serveContainer,
		Image:   image,
		Command: []string{"rai"},
		Args: []string{contract.CommandServe,
			contract.Arg(contract.FlagModelURI), m.URI, contract.Arg(contract.FlagSHA256), m.SHA256,
			contract.Arg(contract.FlagName), obj.Name, contract.Arg(contract.FlagModelVersion), m.Version,
			contract.Arg(contract.FlagPort), strconv.Itoa(int(port)), contract.Arg(contract.FlagGRPCPort), strconv.Itoa(int(servingGRPCPort(obj))),
			contract.Arg(contract.FlagDevice), device,
			contract.Arg(contract.FlagAuditLog), auditLogDir + "/audit.jsonl",
			contract.Arg(contract.FlagMaxBatchSize), strconv.Itoa(int(maxBatch)), contract.Arg(contract.FlagMaxBatchDelay), batchDelay,
		},
		Env: auditEnv(obj, append([]corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}}, storageEnv(obj)...)),
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP},
			{Name: "grpc", ContainerPort: servingGRPCPort(obj), Protocol: corev1.ProtocolTCP}},
		Resources:       resources,
		ReadinessProbe:  probe(contract.ReadinessPath, 5, 3, 2),
		LivenessProbe:   probe(contract.LivenessPath, 10, 3, 2),
		StartupProbe:    probe(contract.LivenessPath, 5, 60, 1),
		SecurityContext: restrictedContainerSecurityContext(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "tmp", MountPath: "/tmp"},
			auditMount(obj),
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	container.Args = append(container.Args, textServeArgs(m.Text)...)
	container.Args = append(container.Args, monitoringArgs(obj)...)
	gpuPod.Tolerations = tolerations
	addGPU(&gpuPod, &container, obj, sv.GPU)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: servingName(obj.Name), Namespace: obj.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To(ptr.Deref(sv.Replicas, 1)),
			Selector:                &metav1.LabelSelector{MatchLabels: servingSelector(obj)},
			ProgressDeadlineSeconds: ptr.To(ptr.Deref(sv.ProgressDeadlineSeconds, 600)),
			RevisionHistoryLimit:    ptr.To(int32(3)),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				// The stable version keeps serving until the new pods are ready.
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              restrictedPodSecurityContext(),
					NodeSelector:                 maps.Clone(sv.NodeSelector),
					Affinity:                     gpuPod.Affinity,
					Tolerations:                  gpuPod.Tolerations,
					ResourceClaims:               gpuPod.ResourceClaims,
					Containers:                   []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						auditVolume(obj),
					},
				},
			},
		},
	}
}

// auditVolume holds the inference audit log: the spec's claim (one
// directory per pod, see auditMount), else an emptyDir.
func auditVolume(obj *raiv1.ResponsibleModel) corev1.Volume {
	if c := obj.Spec.Serving.AuditVolumeClaim; c != nil {
		return corev1.Volume{Name: "audit", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}}
	}
	return corev1.Volume{Name: "audit", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

// auditMount mounts the audit volume; on a claim, each pod writes in a
// directory named after it, so that no two pods share a chain.
func auditMount(obj *raiv1.ResponsibleModel) corev1.VolumeMount {
	m := corev1.VolumeMount{Name: "audit", MountPath: auditLogDir}
	if obj.Spec.Serving.AuditVolumeClaim != nil {
		m.SubPathExpr = "$(POD_NAME)"
	}
	return m
}

// auditEnv adds POD_NAME for the per-pod audit directory.
func auditEnv(obj *raiv1.ResponsibleModel, env []corev1.EnvVar) []corev1.EnvVar {
	if obj.Spec.Serving.AuditVolumeClaim != nil {
		env = append(env, corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}})
	}
	return env
}

// gpuAffinity requires GPU Feature Discovery labels: the product, and more
// than minMemory−1 MiB of memory per GPU (the label is in MiB, Gt is
// strict).
func gpuAffinity(g *raiv1.GPUSpec) *corev1.Affinity {
	var reqs []corev1.NodeSelectorRequirement
	if g.Product != "" {
		reqs = append(reqs, corev1.NodeSelectorRequirement{Key: gpuProductLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{g.Product}})
	}
	if g.MinMemory != nil && !g.MinMemory.IsZero() {
		mib := (g.MinMemory.Value() + (1<<20 - 1)) >> 20
		reqs = append(reqs, corev1.NodeSelectorRequirement{Key: gpuMemoryLabel, Operator: corev1.NodeSelectorOpGt, Values: []string{strconv.FormatInt(mib-1, 10)}})
	}
	if len(reqs) == 0 {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}},
		},
	}}
}

// buildService returns the ClusterIP Service in front of the serving pods.
func buildService(obj *raiv1.ResponsibleModel) *corev1.Service {
	port := servingPort(obj)
	labels := servingSelector(obj)
	labels[raiv1.LabelManagedBy] = managerName
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: servingName(obj.Name), Namespace: obj.Namespace, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: servingSelector(obj),
			Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "grpc", Port: servingGRPCPort(obj), TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// inferenceURL is the in-cluster Open Inference Protocol endpoint.
func inferenceURL(obj *raiv1.ResponsibleModel) string {
	return fmt.Sprintf("http://%s.%s.svc:%d/v2/models/%s/infer", servingName(obj.Name), obj.Namespace, servingPort(obj), obj.Name)
}

// servingGRPCPort is the OIP v2 gRPC port `rai serve` listens on and the Service exposes beside
// the REST one: contract.GRPCPortOffset above it (below it where that passes 65535). Tied to the
// REST port so that pods sharing a network (the demo's local node, which does not remap ports)
// do not collide on gRPC where their REST ports differ.
func servingGRPCPort(obj *raiv1.ResponsibleModel) int32 {
	if p := servingPort(obj) + contract.GRPCPortOffset; p <= 65535 {
		return p
	}
	return servingPort(obj) - contract.GRPCPortOffset
}

// servingPort is the port `rai serve` listens on and the Service exposes:
// spec.serving.port, else the contract's default.
func servingPort(obj *raiv1.ResponsibleModel) int32 {
	if p := obj.Spec.Serving.Port; p != 0 {
		return p
	}
	return contract.DefaultServingPort
}

// reconcileServing keeps the serving Deployment and Service on the version
// that should serve, and follows a candidate's rollout.
//
// It records the rollout's phase (s.Rollout) while a promotable candidate
// rolls out, makes the candidate stable when the rollout completes
// (s.Promoted) and rolls it back when it is stuck (s.RolledBack). It
// requeues while a rollout is in progress, to look at its pods.
func (r *ResponsibleModelReconciler) reconcileServing(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	st := &obj.Status
	candidate := st.CandidateVersion
	// rollingOut: the candidate (its version and digest) is what should
	// serve. Whatever else holds, the stable version serves, as it was
	// promoted.
	rollingOut := candidate != "" && s.Promotable && !s.Blocked
	var target *servedModel
	switch {
	case rollingOut:
		target = &servedModel{Version: candidate, URI: string(obj.Spec.Model.URI), SHA256: st.CandidateModelSHA256, Text: obj.Spec.Model.TextModel()}
	case st.StableVersion != "":
		target = stableServed(st)
	}
	if target == nil {
		if err := r.removeServing(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil
	}
	if err := r.applyService(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	var dep *appsv1.Deployment
	var err error
	if !rollingOut && candidate != "" {
		// spec.serving now describes the candidate: the stable version
		// keeps the template it was promoted with until the candidate is
		// promoted (or a rollback restores it).
		dep, err = r.keepDeployment(ctx, obj, *target)
	} else {
		dep, err = r.applyDeployment(ctx, obj, *target)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	setServingStatus(obj, dep, target.Version)

	if !rollingOut {
		return ctrl.Result{}, nil
	}

	facts := rolloutFacts{Deployment: dep}
	if phase, _ := rolloutVerdict(facts); phase != rolloutComplete {
		pods := &corev1.PodList{}
		if err := r.List(ctx, pods, client.InNamespace(obj.Namespace),
			client.MatchingLabels{raiv1.LabelModel: obj.Name, raiv1.LabelComponent: "serving", raiv1.LabelVersion: candidate}); err != nil {
			return ctrl.Result{}, fmt.Errorf("list the serving pods of version %s: %w", candidate, err)
		}
		facts.Unschedulable = unschedulableMessage(pods.Items)
	}
	phase, msg := rolloutVerdict(facts)
	switch phase {
	case rolloutComplete:
		return ctrl.Result{}, r.promote(ctx, s, msg)
	case rolloutStuck:
		return ctrl.Result{}, r.rollBack(ctx, s, msg)
	}
	s.Rollout = &rolloutObservation{Phase: phase, Message: msg}
	return ctrl.Result{RequeueAfter: r.rolloutPoll()}, nil
}

// applyDeployment creates or updates the serving Deployment for m. It
// writes only when the desired spec differs from what the API server holds.
func (r *ResponsibleModelReconciler) applyDeployment(ctx context.Context, obj *raiv1.ResponsibleModel, m servedModel) (*appsv1.Deployment, error) {
	want := buildServingDeployment(obj, m, r.EvaluationJobs.Image)
	addArtifactStorage(&want.Spec.Template.Spec, serveContainer, obj, r.EvaluationJobs.ArtifactCacheHostPath)
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return nil, fmt.Errorf("own serving Deployment: %w", err)
	}
	got := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), got)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get serving Deployment %q: %w", want.Name, err)
	}
	if err == nil && equality.Semantic.DeepDerivative(want.Spec, got.Spec) && equality.Semantic.DeepDerivative(want.Labels, got.Labels) {
		return got, nil
	}
	// The template a DRA pod claims from exists before the pods that
	// name it: made when the Deployment is written, not on every reconcile.
	if err := r.ensureGPUClaimTemplate(ctx, obj, obj.Spec.Serving.GPU); err != nil {
		return nil, err
	}
	if apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil {
			return nil, specRefused(err, "create serving Deployment %q for version %s", want.Name, m.Version)
		}
		return want, nil
	}
	got.Spec = want.Spec
	got.Labels = want.Labels
	got.OwnerReferences = want.OwnerReferences
	if err := r.Update(ctx, got); err != nil {
		return nil, specRefused(err, "update serving Deployment %q to version %s", want.Name, m.Version)
	}
	return got, nil
}

// applyService creates or updates the serving Service.
func (r *ResponsibleModelReconciler) applyService(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	want := buildService(obj)
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return fmt.Errorf("own serving Service: %w", err)
	}
	got := &corev1.Service{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), got)
	if apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil {
			return specRefused(err, "create serving Service %q", want.Name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get serving Service %q: %w", want.Name, err)
	}
	if equality.Semantic.DeepDerivative(want.Spec, got.Spec) {
		return nil
	}
	got.Spec.Ports, got.Spec.Selector, got.Labels = want.Spec.Ports, want.Spec.Selector, want.Labels
	if err := r.Update(ctx, got); err != nil {
		return fmt.Errorf("update serving Service %q: %w", want.Name, err)
	}
	return nil
}

// removeServing deletes the serving Deployment and Service: nothing may
// serve.
func (r *ResponsibleModelReconciler) removeServing(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	name := servingName(obj.Name)
	for _, o := range []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace}},
	} {
		if err := r.Get(ctx, client.ObjectKeyFromObject(o), o); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("get serving %T %q: %w", o, name, err)
		}
		if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete serving %T %q: %w", o, name, err)
		}
	}
	obj.Status.Serving = nil
	return nil
}

// setServingStatus summarizes the Deployment in status.serving.
func setServingStatus(obj *raiv1.ResponsibleModel, dep *appsv1.Deployment, version string) {
	var heads []raiv1.AuditHead
	var anchored *metav1.Time
	if prev := obj.Status.Serving; prev != nil {
		heads, anchored = prev.AuditHeads, prev.AuditAnchorTime
	}
	obj.Status.Serving = &raiv1.ServingStatus{
		AuditHeads:      heads,
		AuditAnchorTime: anchored,
		Deployment:      dep.Name,
		Service:         dep.Name,
		URL:             inferenceURL(obj),
		Replicas:        ptr.Deref(dep.Spec.Replicas, 1),
		ReadyReplicas:   dep.Status.ReadyReplicas,
		Version:         version,
	}
}

// stableServed is what status says serves: the stable version, its artifact
// and, for a text model, the configuration it was promoted with.
func stableServed(st *raiv1.ResponsibleModelStatus) *servedModel {
	return &servedModel{Version: st.StableVersion, URI: st.StableModelURI, SHA256: st.StableModelSHA256, Text: st.StableTextModel}
}

// textArgsOf returns the text-model flags of a `rai serve` command line, in
// the order textServeArgs writes them.
func textArgsOf(args []string) []string {
	var out []string
	for _, name := range []string{contract.FlagTask, contract.FlagTokenizer, contract.FlagTokenizerSHA256, contract.FlagLabels, contract.FlagMaxLength} {
		for i := 0; i+1 < len(args); i++ {
			if args[i] == contract.Arg(name) {
				out = append(out, args[i], args[i+1])
				break
			}
		}
	}
	return out
}
