// Package admission holds the tests of "who may change what": the
// ClusterRoles of config/rbac and the ValidatingAdmissionPolicies of
// config/admission, installed from the rendered config/default into a real
// kube-apiserver (envtest) and exercised as the people and the operator
// (by impersonation). See docs/rbac.md. It has no non-test code.
package admission
