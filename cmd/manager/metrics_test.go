package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// TestSecureMetricsAskTheAPIServer runs the manager's metrics endpoint as
// --metrics-secure configures it, on envtest, with the manager acting as its
// service account bound to config/rbac/role.yaml: a request without a token
// is 401, a service account's token without the metrics-reader role
// (config/rbac/metrics_reader_role.yaml) is 403, one with it is 200. HTTP/2
// is not offered.
func TestSecureMetricsAskTheAPIServer(t *testing.T) {
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cfg)

	const ns = "default"
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"controller-manager", "prometheus", "stranger"} {
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(file, sa string) {
		t.Helper()
		var role rbacv1.ClusterRole
		readYAML(t, filepath.Join(root, "config", "rbac", file), &role)
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name + "-" + sa},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind("role.yaml", "controller-manager")
	bind("metrics_reader_role.yaml", "prometheus")
	token := func(sa string) string {
		t.Helper()
		tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s: %v", sa, err)
		}
		return tr.Status.Token
	}

	// The manager as its service account: TokenReviews and SubjectAccessReviews
	// are allowed by role.yaml, nothing more.
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":controller-manager"}
	httpClient, err := rest.HTTPClientFor(mgrCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsserver.NewServer(metricsOptions("127.0.0.1:0", true, "", false), mgrCfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	srvCtx, stop := context.WithCancel(ctx)
	go func() { done <- srv.Start(srvCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("metrics server: %v", err)
		}
	})
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" || strings.HasSuffix(addr, ":0"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the metrics server did not listen within 30s")
		}
		addr = srv.(interface{ GetBindAddr() string }).GetBindAddr()
	}

	// The certificate is self-signed: skip its verification, and try for HTTP/2.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true,
	}}
	get := func(bearer string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Proto, string(body)
	}
	for _, tc := range []struct {
		who    string
		bearer string
		want   []int
	}{
		{"no token", "", []int{http.StatusUnauthorized}},
		// controller-runtime answers 500 when the TokenReview fails with an
		// error, as it does for a malformed token.
		{"a token the API server does not know", "not-a-token", []int{http.StatusUnauthorized, http.StatusInternalServerError}},
		{"a service account without metrics-reader", token("stranger"), []int{http.StatusForbidden}},
		{"a service account bound to metrics-reader", token("prometheus"), []int{http.StatusOK}},
	} {
		status, proto, body := get(tc.bearer)
		if !slices.Contains(tc.want, status) {
			t.Errorf("%s: %d, want %v (%.200s)", tc.who, status, tc.want, body)
		}
		if proto != "HTTP/1.1" {
			t.Errorf("%s: answered over %s, want HTTP/1.1 only", tc.who, proto)
		}
		if status == http.StatusOK && !strings.Contains(body, "# TYPE") {
			t.Errorf("%s: 200 without metrics: %.200s", tc.who, body)
		}
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
