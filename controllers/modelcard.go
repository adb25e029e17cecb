package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// The model card: a ConfigMap <model>-model-card with the stable version's
// card in Markdown under model-card.md.

const (
	modelCardKey = "model-card.md"
	// AnnotationIntendedUse, on a ResponsibleModel, is the intended use
	// when spec.intendedUse is empty.
	AnnotationIntendedUse = "rai.responsible-ai.dev/intended-use"
	// annotationModelSHA256 on the model card names the full digest of
	// the artifact it describes.
	annotationModelSHA256 = "rai.responsible-ai.dev/model-sha256"
	// topFeatures is how many explain features the card lists.
	topFeatures = 5
)

// modelCardInput is everything the card shows.
type modelCardInput struct {
	Version, ModelURI, ModelSHA256 string
	Reports                        map[string]*report.Report
	// Decision is the decision that promoted the version, when known.
	Decision *raiv1.DecisionStatus
	// PromotedBy is the history entry of the promotion.
	PromotedBy *raiv1.HistoryEntry
}

// buildModelCard renders the model card. Pure.
func buildModelCard(obj *raiv1.ResponsibleModel, in modelCardInput) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Model card: %s %s\n\n", obj.Name, in.Version)
	use := obj.Spec.IntendedUse
	if use == "" {
		use = obj.Annotations[AnnotationIntendedUse]
	}
	if use == "" {
		use = "Not stated (set spec.intendedUse)."
	}
	p("## Intended use\n\n%s\n\n", strings.TrimSpace(use))
	p("## Model\n\n- Namespace: %s\n- Version: %s\n- Artifact: %s\n- sha256: `%s`\n", obj.Namespace, in.Version, in.ModelURI, in.ModelSHA256)
	datasets := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(in.Reports)) {
		if d := in.Reports[k].Dataset; d != nil && d.SHA256 != "" {
			datasets[fmt.Sprintf("- %s data: sha256 `%s`, %d rows", k, d.SHA256, d.Rows)] = true
		}
	}
	if len(datasets) > 0 {
		p("\n## Data\n\n%s\n", strings.Join(slices.Sorted(maps.Keys(datasets)), "\n"))
	}
	p("\n## Evaluations\n")
	if len(in.Reports) == 0 {
		p("\nNo evaluation was requested.\n")
	}
	for _, kind := range slices.Sorted(maps.Keys(in.Reports)) {
		rep := in.Reports[kind]
		p("\n### %s\n\nState: %s", kind, rep.State)
		if rep.Message != "" {
			p(" (%s)", rep.Message)
		}
		if rep.Evaluator.Name != "" {
			p("; evaluator %s %s", rep.Evaluator.Name, rep.Evaluator.Version)
		}
		p("\n\n")
		if len(rep.Metrics) > 0 {
			p("| metric | value | interval |\n|---|---|---|\n")
			for _, name := range slices.Sorted(maps.Keys(rep.Metrics)) {
				value := formatMetric(rep.Metrics[name])
				if rep.Metrics[name] == nil && rep.Undefined[name] != "" {
					value = "undefined: " + rep.Undefined[name]
				}
				interval := ""
				if iv, ok := rep.Intervals[name]; ok {
					interval = fmt.Sprintf("[%s, %s] at %g", formatMetric(iv.Lower), formatMetric(iv.Upper), iv.Level)
					if iv.Method != "" {
						interval += " (" + iv.Method + ")"
					}
				}
				p("| %s | %s | %s |\n", name, value, interval)
			}
		}
		if kind == string(report.KindExplain) {
			if feats := explainTopFeatures(rep); len(feats) > 0 {
				p("\nTop features: %s\n", strings.Join(feats, ", "))
			}
		}
	}
	p("\n## Decision\n\n")
	if d := in.Decision; d != nil {
		verdict := "allowed"
		if !d.Allowed {
			verdict = "denied"
		}
		p("- Decision ID: `%s`\n- Verdict: %s (enforcement %s)\n- Policy digest: `%s`\n- Time: %s\n", d.ID, verdict, d.Enforcement, d.PolicyDigest, d.Time.UTC().Format("2006-01-02T15:04:05Z"))
		for _, v := range d.Violations {
			p("- Violation %s: %s\n", v.Code, v.Message)
		}
	} else {
		p("No decision is recorded for this version.\n")
	}
	if h := in.PromotedBy; h != nil {
		p("\nPromoted %s: %s\n", h.Time.UTC().Format("2006-01-02T15:04:05Z"), h.Message)
	}
	return b.String()
}

// explainFeature is one ranked feature of an explain report: a tabular
// model's column (permutation importance) or a text model's word (LIME's
// mean signed weight on the explained score).
type explainFeature struct {
	Name string   `json:"name"`
	Rank int      `json:"rank"`
	PI   *float64 `json:"permutation_importance_mean"`
	LIME *float64 `json:"lime_mean"`
}

// explainTopFeatures lists the top features (or, for a text model, words)
// of an explain report by rank.
func explainTopFeatures(rep *report.Report) []string {
	var d struct {
		Features []explainFeature `json:"features"`
		// Score is what a text explanation explains, e.g. P(refund).
		Score string `json:"score"`
	}
	if len(rep.Details) == 0 || json.Unmarshal(rep.Details, &d) != nil {
		return nil
	}
	slices.SortStableFunc(d.Features, func(a, b explainFeature) int { return a.Rank - b.Rank })
	var out []string
	for i, f := range d.Features {
		if i == topFeatures {
			break
		}
		s := fmt.Sprintf("%d. %s", f.Rank, f.Name)
		switch {
		case f.PI != nil:
			s += fmt.Sprintf(" (permutation importance %s)", formatMetric(f.PI))
		case f.LIME != nil && d.Score != "":
			s += fmt.Sprintf(" (LIME weight %s on %s)", formatMetric(f.LIME), d.Score)
		case f.LIME != nil:
			s += fmt.Sprintf(" (LIME weight %s)", formatMetric(f.LIME))
		}
		out = append(out, s)
	}
	return out
}

// reconcileModelCard writes the stable version's model card.
//
// It sets no condition; it sets status.modelCardRef. It does nothing
// without a stable version.
func (r *ResponsibleModelReconciler) reconcileModelCard(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	st := &obj.Status
	if st.StableVersion == "" {
		return ctrl.Result{}, nil
	}
	// The card is written once per stable version: it records the version
	// as it was promoted, whatever is decided about later candidates.
	cur := &corev1.ConfigMap{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: modelCardConfigMapName(obj.Name)}, cur); err == nil &&
		cur.Labels[raiv1.LabelVersion] == st.StableVersion && cur.Annotations[annotationModelSHA256] == st.StableModelSHA256 && cur.Data[modelCardKey] != "" {
		st.ModelCardRef = &raiv1.LocalObjectReference{Name: cur.Name}
		return ctrl.Result{}, nil
	} else if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("read model card ConfigMap: %w", err)
	}
	// The card publishes only evidence that still matches the digests
	// recorded at promotion; anything else is named as tampered.
	reports, tampered, err := r.verifiedEvidence(ctx, obj.Namespace, st.StableEvidence)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, t := range tampered {
		reports[t.Kind] = &report.Report{Kind: report.Kind(t.Kind), State: report.StateError, Message: raiv1.ReasonEvidenceTampered + ": " + t.Message}
	}
	in := modelCardInput{Version: st.StableVersion, ModelURI: st.StableModelURI, ModelSHA256: st.StableModelSHA256, Reports: reports}
	if d := st.LastDecision; d != nil && d.Version == st.StableVersion && d.ModelSHA256 == st.StableModelSHA256 {
		in.Decision = d
	}
	for i := len(st.History) - 1; i >= 0; i-- {
		if h := st.History[i]; h.Version == st.StableVersion && h.ModelSHA256 == st.StableModelSHA256 && h.Action == raiv1.HistoryPromoted {
			in.PromotedBy = &h
			break
		}
	}
	card := buildModelCard(obj, in)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: modelCardConfigMapName(obj.Name), Namespace: obj.Namespace}}
	if _, err := controllerutil.CreateOrPatch(ctx, r.Client, cm, func() error {
		cm.Labels = map[string]string{raiv1.LabelModel: obj.Name, raiv1.LabelVersion: st.StableVersion, LabelModelDigest: digestLabel(st.StableModelSHA256),
			raiv1.LabelComponent: "model-card", raiv1.LabelManagedBy: managerName}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[annotationModelSHA256] = st.StableModelSHA256
		cm.Data = map[string]string{modelCardKey: card}
		return controllerutil.SetControllerReference(obj, cm, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("write model card ConfigMap %q: %w", cm.Name, err)
	}
	st.ModelCardRef = &raiv1.LocalObjectReference{Name: cm.Name}
	return ctrl.Result{}, nil
}
