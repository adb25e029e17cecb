package controllers

// The manager's metrics endpoint, when secure (cmd/manager --metrics-secure),
// authenticates each caller with a TokenReview and authorizes it with a
// SubjectAccessReview for GET /metrics (controller-runtime's
// filters.WithAuthenticationAndAuthorization): the manager creates both.
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
