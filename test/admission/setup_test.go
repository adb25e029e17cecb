package admission_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// The cast. The API server has no kube-controller-manager, so nothing fills
// the aggregated built-in roles (edit, admin, view) from the labelled
// ClusterRoles of config/rbac: setup does what its clusterrole-aggregation
// controller does (aggregateClusterRoles), so that alice, victor and nadia
// are bound to the very roles a real cluster gives namespace users.
const (
	teamA = "team-a" // alice: edit, victor: view, nadia: admin
	teamB = "team-b" // alice: a Role granting every verb on every resource

	alice  = "alice"
	victor = "victor"
	nadia  = "nadia"
	pat    = "pat" // the platform team: rai-platform-admin, cluster-wide

	garbageCollector    = "system:serviceaccount:kube-system:generic-garbage-collector"
	namespaceController = "system:serviceaccount:kube-system:namespace-controller"

	raiGroup = "rai.responsible-ai.dev"

	// How long a new ValidatingAdmissionPolicy may take to be enforced:
	// the API server loads policies and bindings from informers.
	policyLoadTimeout = 30 * time.Second
)

var (
	adminCfg *rest.Config
	admin    client.Client
	root     string

	// rendered is `kubectl kustomize config/default`: what ships.
	rendered []*unstructured.Unstructured
	// operator is the operator's user name, made from the rendered
	// ServiceAccount, as the API server names it.
	operator string
	// prefix is config/default's namePrefix, read off the rendered
	// ServiceAccount.
	prefix string

	configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	models     schema.GroupVersionResource
	budgets    schema.GroupVersionResource
	records    schema.GroupVersionResource

	clients = map[string]dynamic.Interface{}
)

func TestMain(m *testing.M) {
	env, err := testenv.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	if err := setup(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
	} else {
		code = m.Run()
	}
	cancel()
	_ = env.Stop()
	os.Exit(code)
}

func setup(ctx context.Context, cfg *rest.Config) error {
	adminCfg = cfg
	var err error
	if admin, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()}); err != nil {
		return err
	}
	if root, err = testenv.RepoRoot(); err != nil {
		return err
	}
	if rendered, err = render(filepath.Join(root, "config", "default")); err != nil {
		return err
	}
	if err := operatorIdentity(); err != nil {
		return err
	}
	for _, s := range []struct {
		gvr  *schema.GroupVersionResource
		file string
	}{
		{&models, "rai_v1alpha1_responsiblemodel.yaml"},
		{&budgets, "rai_v1alpha1_privacybudget.yaml"},
	} {
		u, err := sample(s.file)
		if err != nil {
			return err
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return err
		}
		*s.gvr = gv.WithResource(strings.ToLower(u.GetKind()) + "s")
	}
	if err := install(ctx); err != nil {
		return err
	}
	if err := aggregateClusterRoles(ctx); err != nil {
		return err
	}
	if err := people(ctx); err != nil {
		return err
	}
	if err := decisionRecordCRD(ctx); err != nil {
		return err
	}
	return waitForPolicies(ctx)
}

// render runs `kubectl kustomize dir` with the kubectl of the envtest
// binaries (bin/k8s, built by `make kube-binaries`).
func render(dir string) ([]*unstructured.Unstructured, error) {
	var candidates []string
	if a := os.Getenv("KUBEBUILDER_ASSETS"); a != "" {
		candidates = append(candidates, filepath.Join(a, "kubectl"))
	}
	candidates = append(candidates, filepath.Join(root, "bin", "k8s", "kubectl"))
	kubectl := ""
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			kubectl = c
			break
		}
	}
	if kubectl == "" {
		p, err := exec.LookPath("kubectl")
		if err != nil {
			return nil, fmt.Errorf("no kubectl in %s or on PATH: run `make kube-binaries`", strings.Join(candidates, ", "))
		}
		kubectl = p
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s kustomize %s: %v: %s", kubectl, dir, err, stderr.String())
	}
	return decode(stdout.Bytes())
}

// decode reads every YAML document of data.
func decode(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// sample reads the one object of config/samples/file.
func sample(file string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "samples", file))
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return u, nil
}

// renderedOf returns the rendered objects of kind.
func renderedOf(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range rendered {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// operatorIdentity reads the operator's user name and the name prefix off
// the rendered ServiceAccount.
func operatorIdentity() error {
	sas := renderedOf("ServiceAccount")
	if len(sas) != 1 {
		return fmt.Errorf("config/default renders %d ServiceAccounts, want the manager's one", len(sas))
	}
	sa := sas[0]
	operator = "system:serviceaccount:" + sa.GetNamespace() + ":" + sa.GetName()
	var ok bool
	if prefix, ok = strings.CutSuffix(sa.GetName(), "controller-manager"); !ok {
		return fmt.Errorf("the rendered ServiceAccount is %q, not <prefix>controller-manager", sa.GetName())
	}
	return nil
}

// install creates what config/default renders that decides who may do
// what: the operator's namespace, ServiceAccount, roles and bindings, and
// the admission policies. The CRDs are envtest's (config/crd/bases); the
// Deployment does not run here.
func install(ctx context.Context) error {
	for _, kind := range []string{"Namespace", "ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		for _, u := range renderedOf(kind) {
			if err := admin.Create(ctx, u.DeepCopy()); err != nil {
				return fmt.Errorf("create %s %s: %w", kind, u.GetName(), err)
			}
		}
	}
	return nil
}

// aggregateClusterRoles does what kube-controller-manager's
// clusterrole-aggregation controller does: it sets the rules of every
// ClusterRole with an aggregationRule (admin, edit, view, ...) to the union
// of the rules of the ClusterRoles its selectors match, until nothing
// changes (view is aggregated into edit, edit into admin).
func aggregateClusterRoles(ctx context.Context) error {
	for range 10 {
		var list rbacv1.ClusterRoleList
		if err := admin.List(ctx, &list); err != nil {
			return err
		}
		changed := false
		for i := range list.Items {
			cr := &list.Items[i]
			if cr.AggregationRule == nil {
				continue
			}
			var rules []rbacv1.PolicyRule
			for _, ls := range cr.AggregationRule.ClusterRoleSelectors {
				sel, err := metav1.LabelSelectorAsSelector(&ls)
				if err != nil {
					return err
				}
				for _, other := range list.Items {
					if other.Name == cr.Name || !sel.Matches(labels.Set(other.Labels)) {
						continue
					}
					for _, r := range other.Rules {
						if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(x, r) }) {
							rules = append(rules, r)
						}
					}
				}
			}
			if equality.Semantic.DeepEqual(rules, cr.Rules) {
				continue
			}
			cr.Rules = rules
			if err := admin.Update(ctx, cr); err != nil {
				return fmt.Errorf("aggregate ClusterRole %s: %w", cr.Name, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return errors.New("ClusterRole aggregation did not settle")
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// people creates the namespaces and binds everyone to their roles.
func people(ctx context.Context) error {
	sa := renderedOf("ServiceAccount")[0]
	operatorSA := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa.GetName(), Namespace: sa.GetNamespace()}
	objs := []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pat-platform-admin"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: prefix + "rai-platform-admin"},
			Subjects: []rbacv1.Subject{user(pat)}},
	}
	for _, ns := range []string{teamA, teamB} {
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}})
		// What the operator does that manager-role does not (yet) grant:
		// deleting ConfigMaps (storeEvidence replaces one it did not
		// write) and writing DecisionRecords. The policies must let the
		// operator through; RBAC is not what these tests are about here.
		objs = append(objs,
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "operator-extras", Namespace: ns}, Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"delete"}},
				{APIGroups: []string{raiGroup}, Resources: []string{"decisionrecords", "decisionrecords/status"}, Verbs: []string{"*"}},
			}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "operator-extras", Namespace: ns},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "operator-extras"},
				Subjects: []rbacv1.Subject{operatorSA}})
	}
	for _, b := range []struct{ who, role string }{{alice, "edit"}, {victor, "view"}, {nadia, "admin"}} {
		objs = append(objs, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: b.who, Namespace: teamA},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects: []rbacv1.Subject{user(b.who)}})
	}
	objs = append(objs,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "everything", Namespace: teamB}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: alice, Namespace: teamB},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "everything"},
			Subjects: []rbacv1.Subject{user(alice)}})
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// decisionRecordCRD installs a schemaless stand-in for the DecisionRecord
// CRD unless config/crd/bases has the real one: the policy on
// decisionrecords is shipped before the CRD, and must take effect when the
// CRD arrives (it is created here after the policies).
func decisionRecordCRD(ctx context.Context) error {
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	err := admin.Get(ctx, client.ObjectKey{Name: "decisionrecords." + raiGroup}, crd)
	if apierrors.IsNotFound(err) {
		crd.Object = map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "decisionrecords." + raiGroup},
			"spec": map[string]any{
				"group": raiGroup, "scope": "Namespaced",
				"names": map[string]any{"kind": "DecisionRecord", "listKind": "DecisionRecordList", "plural": "decisionrecords", "singular": "decisionrecord"},
				"versions": []any{map[string]any{
					"name": "v1alpha1", "served": true, "storage": true,
					"subresources": map[string]any{"status": map[string]any{}},
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				}},
			},
		}
		err = admin.Create(ctx, crd)
	}
	if err != nil {
		return fmt.Errorf("DecisionRecord CRD: %w", err)
	}
	version := ""
	for _, v := range must(unstructured.NestedSlice(crd.Object, "spec", "versions")) {
		if v, _ := v.(map[string]any); v["storage"] == true {
			version, _ = v["name"].(string)
		}
	}
	records = schema.GroupVersionResource{Group: raiGroup, Version: version, Resource: "decisionrecords"}
	return poll(ctx, policyLoadTimeout, func() error {
		_, err := as(operator).Resource(records).Namespace(teamB).List(ctx, metav1.ListOptions{})
		return err
	})
}

func must[T any](v T, _ bool, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// waitForPolicies waits until the API server enforces each policy: it
// retries a request each refuses (dry run, so that nothing is written
// while it is not yet enforced) until it is refused by that policy.
func waitForPolicies(ctx context.Context) error {
	sentinel := mustModel(teamB, "sentinel")
	if _, err := asAdmin().Resource(models).Namespace(teamB).Create(ctx, sentinel, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the sentinel model: %w", err)
	}
	dry := metav1.DryRunAll
	waits := map[string]func() error{
		"operator-owned-configmaps": func() error {
			_, err := as(alice).Resource(configMaps).Namespace(teamA).Create(ctx, evidenceConfigMap(teamA, "sentinel", nil), metav1.CreateOptions{DryRun: []string{dry}})
			return err
		},
		"operator-owned-status": func() error {
			_, err := as(alice).Resource(models).Namespace(teamB).Patch(ctx, "sentinel", types.MergePatchType, []byte(`{"status":{"stableVersion":"v1"}}`), metav1.PatchOptions{DryRun: []string{dry}}, "status")
			return err
		},
		"operator-owned-decision-records": func() error {
			_, err := as(alice).Resource(records).Namespace(teamB).Create(ctx, decisionRecord(teamB, "sentinel"), metav1.CreateOptions{DryRun: []string{dry}})
			return err
		},
	}
	for name, try := range waits {
		policy := prefix + name
		var last error
		err := poll(ctx, policyLoadTimeout, func() error {
			last = try()
			if refusal(last, policy) == "" {
				return nil
			}
			return errors.New("not yet")
		})
		if err != nil {
			return fmt.Errorf("policy %s not enforced within %v: the last request ended with %v", policy, policyLoadTimeout, last)
		}
	}
	return nil
}

// poll calls f every 200ms until it returns nil or timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// as is a client that impersonates user (a service account's user name
// gets the service account's groups).
func as(user string) dynamic.Interface {
	if c, ok := clients[user]; ok {
		return c
	}
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		panic(err)
	}
	clients[user] = c
	return c
}

// asAdmin is the envtest administrator (group system:masters): an empty
// user name impersonates no one.
func asAdmin() dynamic.Interface {
	return as("")
}

// refusal says why err is not a refusal by the ValidatingAdmissionPolicy
// policy whose message holds every fragment, or "" when it is one.
func refusal(err error, policy string, fragments ...string) string {
	if err == nil {
		return "the request was allowed"
	}
	msg := err.Error()
	if !apierrors.IsForbidden(err) || !strings.Contains(msg, "ValidatingAdmissionPolicy '"+policy+"'") {
		return fmt.Sprintf("the request failed with %q (reason %s)", msg, apierrors.ReasonForError(err))
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			return fmt.Sprintf("the refusal %q does not say %q", msg, f)
		}
	}
	return ""
}

// mustModel is the sample ResponsibleModel, named name in ns.
func mustModel(ns, name string) *unstructured.Unstructured {
	u, err := sample("rai_v1alpha1_responsiblemodel.yaml")
	if err != nil {
		panic(err)
	}
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// mustBudget is the sample PrivacyBudget, named name in ns.
func mustBudget(ns, name string) *unstructured.Unstructured {
	u, err := sample("rai_v1alpha1_privacybudget.yaml")
	if err != nil {
		panic(err)
	}
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// evidenceConfigMap is an evidence ConfigMap as the operator writes it
// (controllers/evidence.go), owned by owner when it is not nil.
func evidenceConfigMap(ns, name string, owner *unstructured.Unstructured) *unstructured.Unstructured {
	return operatorConfigMap(ns, name, "evidence", true, map[string]any{"fairness.json": `{"kind":"fairness"}`}, owner)
}

// modelCardConfigMap is a model card as the operator writes it
// (controllers/modelcard.go).
func modelCardConfigMap(ns, name string, owner *unstructured.Unstructured) *unstructured.Unstructured {
	return operatorConfigMap(ns, name, "model-card", false, map[string]any{"model-card.md": "# credit-scoring v1\n"}, owner)
}

func operatorConfigMap(ns, name, component string, immutable bool, data map[string]any, owner *unstructured.Unstructured) *unstructured.Unstructured {
	meta := map[string]any{
		"name": name, "namespace": ns,
		"labels": map[string]any{
			"app.kubernetes.io/component":  component,
			"app.kubernetes.io/managed-by": "rmodel-operator",
			raiGroup + "/model":            "credit-scoring",
		},
	}
	if owner != nil {
		meta["ownerReferences"] = []any{map[string]any{
			"apiVersion": owner.GetAPIVersion(), "kind": owner.GetKind(), "name": owner.GetName(), "uid": string(owner.GetUID()),
			"controller": true, "blockOwnerDeletion": true,
		}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "immutable": immutable, "data": data,
	}}
}

// decisionRecord is a DecisionRecord for the schemaless stand-in CRD.
// When the real DecisionRecord CRD lands in config/crd/bases, make this a
// valid one.
func decisionRecord(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": records.GroupVersion().String(), "kind": "DecisionRecord",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"model": "credit-scoring", "modelUID": "uid-1", "sequence": int64(1), "version": "v1",
			"modelSHA256": strings.Repeat("a", 64), "previousHash": strings.Repeat("0", 64), "hash": strings.Repeat("b", 64),
			"time": "2026-12-01T00:00:00Z", "action": "Promoted", "allowed": true,
		},
	}}
}
