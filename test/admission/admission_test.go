package admission_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// Requests, as one identity.

func create(t *testing.T, c dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	t.Helper()
	return c.Resource(gvr).Namespace(obj.GetNamespace()).Create(t.Context(), obj.DeepCopy(), metav1.CreateOptions{})
}

func patch(t *testing.T, c dynamic.Interface, gvr schema.GroupVersionResource, ns, name, mergePatch string, subresource ...string) error {
	t.Helper()
	_, err := c.Resource(gvr).Namespace(ns).Patch(t.Context(), name, types.MergePatchType, []byte(mergePatch), metav1.PatchOptions{}, subresource...)
	return err
}

func remove(t *testing.T, c dynamic.Interface, gvr schema.GroupVersionResource, ns, name string) error {
	t.Helper()
	return c.Resource(gvr).Namespace(ns).Delete(t.Context(), name, metav1.DeleteOptions{})
}

// Verdicts. Each fails unless the request ended exactly so, so that a test
// fails when a policy refuses too little and when it refuses too much.

func wantPolicyRefusal(t *testing.T, err error, policy string, fragments ...string) {
	t.Helper()
	if why := refusal(err, prefix+policy, fragments...); why != "" {
		t.Fatalf("want the request refused by ValidatingAdmissionPolicy %s%s, but %s", prefix, policy, why)
	}
}

func wantRBACRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil || !apierrors.IsForbidden(err) || strings.Contains(err.Error(), "ValidatingAdmissionPolicy") || !strings.Contains(err.Error(), " cannot ") {
		t.Fatalf("want the request refused by RBAC (Forbidden: user cannot ...), got %v", err)
	}
}

func wantAllowed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("want the request allowed, got %v", err)
	}
}

// mustCreate creates obj as c and fails unless that is allowed.
func mustCreate(t *testing.T, c dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	u, err := create(t, c, gvr, obj)
	wantAllowed(t, err)
	return u
}

// TestRenderedConfig checks what config/default renders: every policy names
// the operator as the rendered ServiceAccount, is bound with Deny and is
// cluster-scoped, and the roles aggregate where docs/rbac.md says.
func TestRenderedConfig(t *testing.T) {
	policies := renderedOf("ValidatingAdmissionPolicy")
	if len(policies) != 5 {
		t.Fatalf("config/default renders %d ValidatingAdmissionPolicies, want 5", len(policies))
	}
	bindings := map[string]*unstructured.Unstructured{}
	for _, b := range renderedOf("ValidatingAdmissionPolicyBinding") {
		name, _, _ := unstructured.NestedString(b.Object, "spec", "policyName")
		bindings[name] = b
		if b.GetNamespace() != "" {
			t.Errorf("binding %s has namespace %q; it is cluster-scoped", b.GetName(), b.GetNamespace())
		}
	}
	for _, p := range policies {
		if p.GetNamespace() != "" {
			t.Errorf("policy %s has namespace %q; it is cluster-scoped", p.GetName(), p.GetNamespace())
		}
		vars, _, _ := unstructured.NestedSlice(p.Object, "spec", "variables")
		got := ""
		for _, v := range vars {
			if v, _ := v.(map[string]any); v["name"] == "operator" {
				got, _ = v["expression"].(string)
			}
		}
		// The approval and spec-editor policies keep people honest; they
		// exempt no one.
		if want := "'" + operator + "'"; got != want && p.GetName() != "rmodel-model-approvals-by-approvers" && p.GetName() != "rmodel-responsiblemodels-spec-changed-by" {
			t.Errorf("policy %s: variables.operator is %q, but config/default installs the manager as %s: change it in config/admission", p.GetName(), got, want)
		}
		b := bindings[p.GetName()]
		if b == nil {
			t.Errorf("policy %s has no binding", p.GetName())
			continue
		}
		if actions, _, _ := unstructured.NestedStringSlice(b.Object, "spec", "validationActions"); !slices.Equal(actions, []string{"Deny"}) {
			t.Errorf("binding %s: validationActions %v, want [Deny]", b.GetName(), actions)
		}
	}
	// The mutating policy that records the spec's editor is bound under
	// the name kustomize gave it, cluster-scoped.
	mutating := renderedOf("MutatingAdmissionPolicy")
	mbs := renderedOf("MutatingAdmissionPolicyBinding")
	if len(mutating) != 1 || len(mbs) != 1 {
		t.Fatalf("config/default renders %d MutatingAdmissionPolicies and %d bindings, want 1 and 1", len(mutating), len(mbs))
	}
	if name, _, _ := unstructured.NestedString(mbs[0].Object, "spec", "policyName"); name != mutating[0].GetName() || mutating[0].GetNamespace() != "" || mbs[0].GetNamespace() != "" {
		t.Errorf("MutatingAdmissionPolicyBinding %s names policy %q (namespace %q); want %s, cluster-scoped", mbs[0].GetName(), name, mbs[0].GetNamespace(), mutating[0].GetName())
	}
	aggregation := map[string][]string{
		"rai-model-editor":   {"aggregate-to-edit", "aggregate-to-admin"},
		"rai-model-viewer":   {"aggregate-to-view"},
		"rai-platform-admin": nil,
	}
	for name, want := range aggregation {
		var role *unstructured.Unstructured
		for _, r := range renderedOf("ClusterRole") {
			if r.GetName() == prefix+name {
				role = r
			}
		}
		if role == nil {
			t.Errorf("config/default renders no ClusterRole %s%s", prefix, name)
			continue
		}
		var got []string
		for k, v := range role.GetLabels() {
			if a, ok := strings.CutPrefix(k, "rbac.authorization.k8s.io/"); ok && strings.HasPrefix(a, "aggregate-to-") && v == "true" {
				got = append(got, a)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ClusterRole %s%s aggregates to %v, want %v", prefix, name, got, want)
		}
	}
}

// TestPoliciesTypeCheck type-checks each policy's CEL against the OpenAPI
// schemas of what it matches (ConfigMap, ResponsibleModel, PrivacyBudget,
// DecisionRecord), with the type checker of kube-controller-manager's
// policy status controller (envtest runs no controller manager to report
// it in status.typeChecking). That checker skips rules with wildcard
// versions or subresources and checks variables only where they are used,
// so it is given a copy of each policy with concrete versions, the main
// resource of each subresource (a status has its object's schema) and
// every variable as a validation of its own.
func TestPoliciesTypeCheck(t *testing.T) {
	disco, err := discovery.NewDiscoveryClientForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	checker := &validating.TypeChecker{
		SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: disco},
		RestMapper:     admin.RESTMapper(),
	}
	for _, u := range renderedOf("ValidatingAdmissionPolicy") {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
			t.Fatal(err)
		}
		checked := 0
		for i := range p.Spec.MatchConstraints.ResourceRules {
			r := &p.Spec.MatchConstraints.ResourceRules[i]
			var versions, resources []string
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					res, _, _ = strings.Cut(res, "/")
					kinds, err := admin.RESTMapper().KindsFor(schema.GroupVersionResource{Group: g, Resource: res})
					if err != nil {
						t.Fatalf("policy %s: %s.%s: %v", p.Name, res, g, err)
					}
					for _, k := range kinds {
						if !slices.Contains(versions, k.Version) {
							versions = append(versions, k.Version)
						}
					}
					if !slices.Contains(resources, res) {
						resources = append(resources, res)
					}
					checked++
				}
			}
			r.APIVersions, r.Resources = versions, resources
		}
		if checked == 0 {
			t.Fatalf("policy %s: nothing to type-check against", p.Name)
		}
		for _, v := range p.Spec.Variables {
			p.Spec.Validations = append(p.Spec.Validations, admissionregistrationv1.Validation{Expression: v.Expression})
		}
		for _, w := range checker.Check(p) {
			t.Errorf("policy %s: %s: %s", p.Name, w.FieldRef, w.Warning)
		}
	}
}

// TestEvidenceConfigMaps: the evidence and model-card ConfigMaps in a
// model's namespace are written by the operator alone. Alice, who owns the
// model and may write ConfigMaps there, may neither forge, change, unlabel
// nor delete them; with a Role granting everything in her namespace, nor
// may she; a cluster admin may not either. The garbage collector and the
// namespace controller may delete them, the garbage collector may drop
// their owner references, and the operator may do all it does.
func TestEvidenceConfigMaps(t *testing.T) {
	const policy = "operator-owned-configmaps"
	model := mustCreate(t, as(alice), models, mustModel(teamA, "credit-scoring"))
	evidence := mustCreate(t, as(operator), configMaps, evidenceConfigMap(teamA, "credit-scoring-v1-fairness-report", model))
	card := mustCreate(t, as(operator), configMaps, modelCardConfigMap(teamA, "credit-scoring-model-card", model))
	forbidden := "evidence ConfigMaps are written only by the rmodel operator (" + operator + ")"

	t.Run("alice may not forge evidence", func(t *testing.T) {
		_, err := create(t, as(alice), configMaps, evidenceConfigMap(teamA, "credit-scoring-v1-robustness-report", model))
		wantPolicyRefusal(t, err, policy, "user alice may not create ConfigMap team-a/credit-scoring-v1-robustness-report", forbidden)
	})
	t.Run("alice may not change evidence", func(t *testing.T) {
		err := patch(t, as(alice), configMaps, teamA, evidence.GetName(), `{"metadata":{"annotations":{"reviewed":"yes"}}}`)
		wantPolicyRefusal(t, err, policy, "user alice may not update ConfigMap team-a/"+evidence.GetName(), forbidden)
	})
	t.Run("alice may not take the labels off evidence", func(t *testing.T) {
		err := patch(t, as(alice), configMaps, teamA, evidence.GetName(), `{"metadata":{"labels":{"app.kubernetes.io/component":null,"app.kubernetes.io/managed-by":null}}}`)
		wantPolicyRefusal(t, err, policy, "user alice may not update ConfigMap", forbidden)
	})
	t.Run("alice may not delete evidence", func(t *testing.T) {
		err := remove(t, as(alice), configMaps, teamA, evidence.GetName())
		wantPolicyRefusal(t, err, policy, "user alice may not delete ConfigMap team-a/"+evidence.GetName(), forbidden)
	})
	t.Run("alice may write her own ConfigMaps but not label one as evidence", func(t *testing.T) {
		mine := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "alice-notes", "namespace": teamA}, "data": map[string]any{"fairness.json": "{}"}}}
		mustCreate(t, as(alice), configMaps, mine)
		wantAllowed(t, patch(t, as(alice), configMaps, teamA, "alice-notes", `{"data":{"note":"mine"}}`))
		err := patch(t, as(alice), configMaps, teamA, "alice-notes", `{"metadata":{"labels":{"app.kubernetes.io/component":"evidence","app.kubernetes.io/managed-by":"rmodel-operator"}}}`)
		wantPolicyRefusal(t, err, policy, "user alice may not update ConfigMap team-a/alice-notes", forbidden)
		wantAllowed(t, remove(t, as(alice), configMaps, teamA, "alice-notes"))
	})
	t.Run("alice may not change the model card", func(t *testing.T) {
		err := patch(t, as(alice), configMaps, teamA, card.GetName(), `{"data":{"model-card.md":"# approved by everyone\n"}}`)
		wantPolicyRefusal(t, err, policy, "user alice may not update ConfigMap team-a/"+card.GetName(),
			"model-card ConfigMaps are written only by the rmodel operator ("+operator+")")
	})
	t.Run("alice with every verb on everything in her namespace may not change or delete evidence", func(t *testing.T) {
		owner := mustCreate(t, as(alice), models, mustModel(teamB, "credit-scoring"))
		ev := mustCreate(t, as(operator), configMaps, evidenceConfigMap(teamB, "credit-scoring-v1-fairness-report", owner))
		_, err := create(t, as(alice), configMaps, evidenceConfigMap(teamB, "forged-report", owner))
		wantPolicyRefusal(t, err, policy, "user alice may not create ConfigMap team-b/forged-report", forbidden)
		wantPolicyRefusal(t, patch(t, as(alice), configMaps, teamB, ev.GetName(), `{"metadata":{"annotations":{"reviewed":"yes"}}}`), policy, "user alice may not update", forbidden)
		wantPolicyRefusal(t, remove(t, as(alice), configMaps, teamB, ev.GetName()), policy, "user alice may not delete", forbidden)
		// The operator may delete what it wrote (storeEvidence replaces
		// a ConfigMap it did not write).
		wantAllowed(t, remove(t, as(operator), configMaps, teamB, ev.GetName()))
	})
	t.Run("a cluster admin may not change evidence", func(t *testing.T) {
		err := patch(t, asAdmin(), configMaps, teamA, evidence.GetName(), `{"metadata":{"annotations":{"reviewed":"yes"}}}`)
		wantPolicyRefusal(t, err, policy, "may not update ConfigMap team-a/"+evidence.GetName(), forbidden)
	})
	t.Run("the operator may write evidence metadata and the model card", func(t *testing.T) {
		wantAllowed(t, patch(t, as(operator), configMaps, teamA, evidence.GetName(), `{"metadata":{"annotations":{"rai.responsible-ai.dev/requested-evaluations":"fairness"}}}`))
		wantAllowed(t, patch(t, as(operator), configMaps, teamA, card.GetName(), `{"data":{"model-card.md":"# credit-scoring v2\n"}}`))
	})
	t.Run("the garbage collector may drop ownership, not change content", func(t *testing.T) {
		wantPolicyRefusal(t, patch(t, as(garbageCollector), configMaps, teamA, card.GetName(), `{"data":{"model-card.md":"# other\n"}}`), policy,
			"user "+garbageCollector+" may not update ConfigMap")
		wantPolicyRefusal(t, patch(t, as(garbageCollector), configMaps, teamA, card.GetName(), `{"metadata":{"labels":{"app.kubernetes.io/managed-by":null}}}`), policy,
			"user "+garbageCollector+" may not update ConfigMap")
		// What it does for `kubectl delete --cascade=orphan` of the model.
		wantAllowed(t, patch(t, as(garbageCollector), configMaps, teamA, evidence.GetName(), `{"metadata":{"ownerReferences":null}}`))
	})
	t.Run("the garbage collector and the namespace controller may delete", func(t *testing.T) {
		wantAllowed(t, remove(t, as(garbageCollector), configMaps, teamA, evidence.GetName()))
		wantAllowed(t, remove(t, as(namespaceController), configMaps, teamA, card.GetName()))
	})
}

// TestStatus: the status of models and budgets is written by the operator
// alone. Alice may create and edit her model and read its status; RBAC
// gives her no status write, and with a Role granting everything in her
// namespace the policy still refuses it, as it does a cluster admin.
func TestStatus(t *testing.T) {
	const policy = "operator-owned-status"
	const open = `{"status":{"stableVersion":"v1","observedGeneration":1}}`

	t.Run("alice may create and edit a model and read its status", func(t *testing.T) {
		mustCreate(t, as(alice), models, mustModel(teamA, "status-model"))
		wantAllowed(t, patch(t, as(alice), models, teamA, "status-model", `{"spec":{"intendedUse":"Ranks applications for human review only."}}`))
		_, err := as(alice).Resource(models).Namespace(teamA).Get(t.Context(), "status-model", metav1.GetOptions{}, "status")
		wantAllowed(t, err)
	})
	t.Run("alice may not write a model's status (RBAC)", func(t *testing.T) {
		wantRBACRefusal(t, patch(t, as(alice), models, teamA, "status-model", open, "status"))
	})
	t.Run("victor may read, not edit (RBAC)", func(t *testing.T) {
		_, err := as(victor).Resource(models).Namespace(teamA).Get(t.Context(), "status-model", metav1.GetOptions{}, "status")
		wantAllowed(t, err)
		wantRBACRefusal(t, patch(t, as(victor), models, teamA, "status-model", `{"spec":{"version":"v2"}}`))
		_, err = create(t, as(victor), models, mustModel(teamA, "victors-model"))
		wantRBACRefusal(t, err)
	})
	t.Run("alice with every verb on everything in her namespace may not write a model's status", func(t *testing.T) {
		mustCreate(t, as(alice), models, mustModel(teamB, "status-model"))
		err := patch(t, as(alice), models, teamB, "status-model", open, "status")
		wantPolicyRefusal(t, err, policy, "user alice may not update the status of ResponsibleModel team-b/status-model",
			"written only by the rmodel operator ("+operator+")")
	})
	t.Run("a cluster admin may not write a model's status", func(t *testing.T) {
		wantPolicyRefusal(t, patch(t, asAdmin(), models, teamA, "status-model", open, "status"), policy, "may not update the status of ResponsibleModel team-a/status-model")
	})
	t.Run("the operator may write a model's status, and alice reads it", func(t *testing.T) {
		wantAllowed(t, patch(t, as(operator), models, teamA, "status-model", open, "status"))
		got, err := as(alice).Resource(models).Namespace(teamA).Get(t.Context(), "status-model", metav1.GetOptions{}, "status")
		wantAllowed(t, err)
		if v, _, _ := unstructured.NestedString(got.Object, "status", "stableVersion"); v != "v1" {
			t.Fatalf("status.stableVersion %q after the operator's patch, want v1", v)
		}
	})

	const charge = `{"status":{"spent":"0","remaining":"8"}}`
	t.Run("the platform team creates budgets; alice may not (RBAC)", func(t *testing.T) {
		mustCreate(t, as(pat), budgets, mustBudget(teamA, "lending-data"))
		mustCreate(t, as(pat), budgets, mustBudget(teamB, "lending-data"))
		_, err := create(t, as(alice), budgets, mustBudget(teamA, "alices-budget"))
		wantRBACRefusal(t, err)
		wantRBACRefusal(t, patch(t, as(alice), budgets, teamA, "lending-data", `{"spec":{"epsilon":"80"}}`))
		_, err = as(alice).Resource(budgets).Namespace(teamA).Get(t.Context(), "lending-data", metav1.GetOptions{})
		wantAllowed(t, err)
	})
	t.Run("alice may not write a budget's status (RBAC)", func(t *testing.T) {
		wantRBACRefusal(t, patch(t, as(alice), budgets, teamA, "lending-data", charge, "status"))
	})
	t.Run("alice with every verb on everything in her namespace may not write a budget's status", func(t *testing.T) {
		wantPolicyRefusal(t, patch(t, as(alice), budgets, teamB, "lending-data", charge, "status"), policy,
			"user alice may not update the status of PrivacyBudget team-b/lending-data", "written only by the rmodel operator ("+operator+")")
	})
	t.Run("neither the platform team nor a cluster admin may write a budget's status", func(t *testing.T) {
		wantRBACRefusal(t, patch(t, as(pat), budgets, teamA, "lending-data", charge, "status"))
		wantPolicyRefusal(t, patch(t, asAdmin(), budgets, teamA, "lending-data", charge, "status"), policy, "may not update the status of PrivacyBudget team-a/lending-data")
	})
	t.Run("the operator may write a budget's status", func(t *testing.T) {
		wantAllowed(t, patch(t, as(operator), budgets, teamA, "lending-data", charge, "status"))
		wantAllowed(t, patch(t, as(operator), budgets, teamB, "lending-data", charge, "status"))
	})
}

// TestDecisionRecords: decision records are created, changed and deleted
// by the operator alone (and deleted by the garbage collector).
func TestDecisionRecords(t *testing.T) {
	const policy = "operator-owned-decision-records"
	forbidden := "decision records are written only by the rmodel operator (" + operator + ")"
	rec, err := create(t, as(operator), records, decisionRecord(teamB, "credit-scoring-1"))
	if err != nil {
		t.Fatalf("the operator creates a DecisionRecord (when the DecisionRecord CRD is the real one, make decisionRecord() valid for it): %v", err)
	}

	t.Run("alice may read, not write, records (RBAC)", func(t *testing.T) {
		_, err := as(alice).Resource(records).Namespace(teamA).List(t.Context(), metav1.ListOptions{})
		wantAllowed(t, err)
		_, err = create(t, as(alice), records, decisionRecord(teamA, "forged"))
		wantRBACRefusal(t, err)
	})
	t.Run("alice with every verb on everything in her namespace may not write records", func(t *testing.T) {
		_, err := create(t, as(alice), records, decisionRecord(teamB, "forged"))
		wantPolicyRefusal(t, err, policy, "user alice may not create DecisionRecord team-b/forged", forbidden)
		wantPolicyRefusal(t, patch(t, as(alice), records, teamB, rec.GetName(), `{"metadata":{"labels":{"example.com/forged":"1"}}}`), policy,
			"user alice may not update DecisionRecord team-b/"+rec.GetName(), forbidden)
		wantPolicyRefusal(t, remove(t, as(alice), records, teamB, rec.GetName()), policy,
			"user alice may not delete DecisionRecord team-b/"+rec.GetName(), forbidden)
	})
	t.Run("a cluster admin may not write records", func(t *testing.T) {
		wantPolicyRefusal(t, remove(t, asAdmin(), records, teamB, rec.GetName()), policy, "may not delete DecisionRecord", forbidden)
	})
	t.Run("the operator may write records; the garbage collector may delete them", func(t *testing.T) {
		wantAllowed(t, patch(t, as(operator), records, teamB, rec.GetName(), `{"metadata":{"annotations":{"rai.responsible-ai.dev/chain":"1"}}}`))
		// The record itself is immutable, for the operator too (the CRD's
		// own validation).
		if err := patch(t, as(operator), records, teamB, rec.GetName(), `{"spec":{"action":"Denied"}}`); err == nil || !strings.Contains(err.Error(), "decision records are immutable") {
			t.Errorf("the operator changed a record's spec: %v", err)
		}
		wantPolicyRefusal(t, patch(t, as(garbageCollector), records, teamB, rec.GetName(), `{"metadata":{"labels":{"example.com/forged":"1"}}}`), policy, "user "+garbageCollector+" may not update")
		wantAllowed(t, remove(t, as(garbageCollector), records, teamB, rec.GetName()))
		mustCreate(t, as(operator), records, decisionRecord(teamB, "credit-scoring-2"))
		wantAllowed(t, remove(t, as(operator), records, teamB, "credit-scoring-2"))
	})
}

// TestRoles asks the API server's authorizer what each person may do: the
// namespace roles (edit, admin, view, with config/rbac aggregated in) grant
// models but no status, budgets only to read, and neither approve nor
// override; the platform admin role grants those.
func TestRoles(t *testing.T) {
	type access struct {
		user, ns, verb, resource, subresource string
		want                                  bool
	}
	cases := []access{
		{alice, teamA, "create", "responsiblemodels", "", true},
		{alice, teamA, "patch", "responsiblemodels", "", true},
		{alice, teamA, "delete", "responsiblemodels", "", true},
		{alice, teamA, "get", "responsiblemodels", "status", true},
		{alice, teamA, "patch", "responsiblemodels", "status", false},
		{alice, teamA, "update", "responsiblemodels", "status", false},
		{alice, teamA, "approve", "responsiblemodels", "", false},
		{alice, teamA, "override", "responsiblemodels", "", false},
		{alice, teamA, "get", "privacybudgets", "", true},
		{alice, teamA, "create", "privacybudgets", "", false},
		{alice, teamA, "patch", "privacybudgets", "status", false},
		{alice, teamA, "list", "decisionrecords", "", true},
		{alice, teamA, "create", "decisionrecords", "", false},
		{alice, "", "list", "promotionpolicies", "", false},
		{nadia, teamA, "create", "responsiblemodels", "", true},
		{nadia, teamA, "patch", "responsiblemodels", "status", false},
		{nadia, teamA, "approve", "responsiblemodels", "", false},
		{nadia, teamA, "override", "responsiblemodels", "", false},
		{nadia, teamA, "create", "privacybudgets", "", false},
		{victor, teamA, "get", "responsiblemodels", "", true},
		{victor, teamA, "get", "responsiblemodels", "status", true},
		{victor, teamA, "get", "privacybudgets", "", true},
		{victor, teamA, "list", "decisionrecords", "", true},
		{victor, teamA, "create", "responsiblemodels", "", false},
		{pat, "", "create", "promotionpolicies", "", true},
		{pat, "", "update", "promotionpolicies", "", true},
		{pat, teamA, "create", "privacybudgets", "", true},
		{pat, teamA, "delete", "privacybudgets", "", true},
		{pat, teamA, "approve", "responsiblemodels", "", true},
		{pat, teamA, "override", "responsiblemodels", "", true},
		{pat, teamA, "patch", "responsiblemodels", "", false},
		{pat, teamA, "patch", "privacybudgets", "status", false},
		{pat, teamA, "patch", "responsiblemodels", "status", false},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s %s %s", c.user, c.verb, strings.TrimSuffix(c.resource+"/"+c.subresource, "/"))
		if c.ns != "" {
			name += " in " + c.ns
		}
		t.Run(name, func(t *testing.T) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   c.user,
				Groups: []string{"system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: c.ns, Verb: c.verb, Group: raiGroup, Resource: c.resource, Subresource: c.subresource,
				},
			}}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := admin.Create(ctx, sar); err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != c.want {
				t.Fatalf("allowed = %v, want %v (%s)", sar.Status.Allowed, c.want, sar.Status.Reason)
			}
		})
	}
}
