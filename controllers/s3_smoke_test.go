package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/artifact/s3test"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// TestRuntimeReadsS3 runs the evaluation and serving containers that the
// operator builds for a model in S3 (arguments and environment, the
// Secret's references resolved as the kubelet does) with the real rai
// against a real S3 server, SeaweedFS. It needs RAI_SMOKE_RAI (as
// TestEvaluationJobsRunTheRealRuntime) and bin/weed (`make test` builds
// both); it is skipped otherwise.
func TestRuntimeReadsS3(t *testing.T) {
	rai := os.Getenv("RAI_SMOKE_RAI")
	if rai == "" {
		t.Skip("set RAI_SMOKE_RAI to a built rai binary (and RAI_ONNXRUNTIME_LIB) to run the evaluation and serving pods against S3 for real")
	}
	rai, _ = filepath.Abs(rai)
	s3test.Binary(t)
	modelBytes, dataBytes := demoArtifacts(t, rai)
	srv := s3test.StartTLS(t, "models", "datasets")
	// Serving last: it stops the server.
	t.Run("evaluation Jobs", func(t *testing.T) { evaluationJobsReadS3(t, rai, srv, modelBytes, dataBytes) })
	t.Run("serving pods", func(t *testing.T) { servingPodsReadS3(t, rai, srv, modelBytes) })
}

// evaluationJobsReadS3: the right credentials produce a report the
// operator trusts; a wrong secret key and a missing object each give an
// evaluation Error that names the object and S3's error code, so Evaluated
// is False and nothing can be promoted.
func evaluationJobsReadS3(t *testing.T, rai string, srv *s3test.Server, modelBytes, dataBytes []byte) {
	modelURI := srv.Put(t, "models", "credit/v1/model.onnx", modelBytes)
	dataURI := srv.Put(t, "datasets", "credit/eval.csv", dataBytes)

	model := func(uri string) *raiv1.ResponsibleModel {
		return newModel("ns", "credit", withS3("model-store"), func(m *raiv1.ResponsibleModel) {
			m.Spec.Model = raiv1.ModelArtifact{URI: raiv1.ArtifactURI(uri), SHA256: raiv1.SHA256(digestOf(modelBytes))}
			m.Spec.Evaluations.Dataset.URI = raiv1.ArtifactURI(dataURI)
			m.Spec.Evaluations.Dataset.SHA256 = raiv1.SHA256(digestOf(dataBytes))
			m.Spec.Storage.S3.Endpoint = srv.Endpoint
		})
	}
	cases := []struct {
		name string
		// uri is the model's; secret the Secret's AWS_SECRET_ACCESS_KEY.
		uri, secret string
		// want are substrings of the Error the operator reads; none means Succeeded.
		want []string
	}{
		{name: "right credentials", uri: modelURI, secret: s3test.SecretKey},
		{name: "wrong secret key", uri: modelURI, secret: "not-the-secret",
			want: []string{modelURI, srv.Endpoint, "SignatureDoesNotMatch", "HTTP 403"}},
		{name: "missing object", uri: "s3://models/credit/v2/model.onnx", secret: s3test.SecretKey,
			want: []string{"s3://models/credit/v2/model.onnx", "NoSuchKey", "HTTP 404"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := model(tc.uri)
			secret := map[string]string{contract.EnvS3AccessKey: s3test.AccessKey, contract.EnvS3SecretKey: tc.secret}
			msg, runErr := runEvaluationWithEnv(t, rai, obj, report.KindFairness, secret)
			got := trustedReport(msg, expectedFor(obj, report.KindFairness))
			status := raiv1.EvaluationStatus{Kind: string(report.KindFairness), State: got.state, Reason: got.reason, Message: got.message}
			evaluated := evaluatedCondition([]report.Kind{report.KindFairness}, []raiv1.EvaluationStatus{status})
			if len(tc.want) == 0 {
				if runErr != nil || got.state != raiv1.EvaluationSucceeded || evaluated.Status != metav1.ConditionTrue {
					t.Fatalf("the operator reads %s/%s: %s (%v)", got.state, got.reason, got.message, runErr)
				}
				return
			}
			if runErr == nil {
				t.Errorf("rai evaluate fairness exited 0")
			}
			if got.state != raiv1.EvaluationError || evaluated.Status != metav1.ConditionFalse {
				t.Fatalf("the operator reads %s/%s and Evaluated=%s; want an Error and False", got.state, got.reason, evaluated.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.message, w) {
					t.Errorf("the evaluation's message does not mention %q: %s", w, got.message)
				}
			}
			t.Logf("Evaluated=%s %s: %s", evaluated.Status, evaluated.Reason, evaluated.Message)
		})
	}
}

// runEvaluationWithEnv is runEvaluation with the container's environment,
// its Secret references resolved from secret (a missing optional key is
// left out, as the kubelet does).
func runEvaluationWithEnv(t *testing.T, rai string, obj *raiv1.ResponsibleModel, kind report.Kind, secret map[string]string) (string, error) {
	t.Helper()
	c := buildEvaluationJob(obj, kind, EvaluationJobOptions{Image: "x"}).Spec.Template.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			v, ok := secret[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				if e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
					t.Fatalf("the Secret lacks %s, which the pod needs", e.ValueFrom.SecretKeyRef.Key)
				}
				continue
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom == nil && e.Name != "TMPDIR":
			env = append(env, e.Name+"="+e.Value)
		}
	}
	if !slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, contract.EnvS3SecretKey+"=") }) {
		t.Fatalf("the evaluation container gets no %s: %v", contract.EnvS3SecretKey, c.Env)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return runEvaluation(t, rai, obj, kind)
}

// servingPodsReadS3 runs the pod that applyDeployment writes (the store
// over https with the spec's CA bundle, the node cache on): the right
// credentials load the model (ready); a
// wrong secret key stops the server with an error naming the object and
// S3's code (the pod never becomes ready, so the rollout is not promoted);
// and with the node-local cache, a second pod of the same digest becomes
// ready with the S3 server gone. It stops the server.
func servingPodsReadS3(t *testing.T, rai string, srv *s3test.Server, modelBytes []byte) {
	modelURI := srv.Put(t, "models", "credit/v1/serving.onnx", modelBytes)
	// Over https, the store's certificate signed by a private CA that the
	// spec's caBundle names, with the node-local cache on.
	obj := newModel("ns", "credit", withS3("model-store"), func(m *raiv1.ResponsibleModel) {
		m.Spec.Model = raiv1.ModelArtifact{URI: raiv1.ArtifactURI(modelURI), SHA256: raiv1.SHA256(digestOf(modelBytes))}
		m.Spec.Storage.S3.Endpoint = srv.TLSEndpoint
		m.Spec.Storage.S3.CABundle = &raiv1.ConfigMapKeyReference{Name: "store-ca", Key: "ca.crt"}
	})
	caPEM, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	hostCache := t.TempDir()
	r := &ResponsibleModelReconciler{Client: fake.NewClientBuilder().WithScheme(testenv.Scheme()).Build(), Scheme: testenv.Scheme(),
		EvaluationJobs: EvaluationJobOptions{Image: "rai:1", ArtifactCacheHostPath: hostCache}}
	dep, err := r.applyDeployment(context.Background(), obj, servedModel{Version: "v1", URI: modelURI, SHA256: digestOf(modelBytes)})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	// serve starts the container as a kubelet would (volumes as local
	// directories, mount paths rewritten, the Secret holding secret and the
	// ConfigMap store-ca the CA) and returns its exit error (nil once it is
	// ready: it is then stopped).
	serve := func(t *testing.T, secret string) (string, error) {
		t.Helper()
		port := freePort(t)
		mounts := map[string]string{}
		for _, v := range pod.Volumes {
			switch {
			case v.HostPath != nil:
				mounts[v.Name] = v.HostPath.Path
			case v.ConfigMap != nil && v.ConfigMap.Name == "store-ca":
				d := t.TempDir()
				for _, item := range v.ConfigMap.Items {
					if item.Key == "ca.crt" {
						os.WriteFile(filepath.Join(d, item.Path), caPEM, 0o644)
					}
				}
				mounts[v.Name] = d
			default:
				mounts[v.Name] = t.TempDir()
			}
		}
		c := pod.Containers[slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == serveContainer })]
		rewrite := func(s string) string {
			for _, vm := range c.VolumeMounts {
				if s == vm.MountPath || strings.HasPrefix(s, vm.MountPath+"/") {
					return mounts[vm.Name] + strings.TrimPrefix(s, vm.MountPath)
				}
			}
			return s
		}
		args := slices.Clone(c.Args)
		for i := range args {
			if i > 0 && args[i-1] == contract.Arg(contract.FlagPort) {
				args[i] = strconv.Itoa(port)
			}
			args[i] = rewrite(args[i])
		}
		cmd := exec.Command(rai, args...)
		cmd.Env = os.Environ()
		vars := map[string]string{}
		for _, e := range c.Env {
			v := e.Value
			switch f := e.ValueFrom; {
			case f != nil && f.SecretKeyRef != nil:
				var ok bool
				if v, ok = map[string]string{contract.EnvS3AccessKey: s3test.AccessKey, contract.EnvS3SecretKey: secret}[f.SecretKeyRef.Key]; !ok {
					continue
				}
			case f != nil && f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.namespace":
				v = obj.Namespace
			case f != nil:
				t.Fatalf("unexpected env source %+v", f)
			}
			for k, x := range vars {
				v = strings.ReplaceAll(v, "$("+k+")", x)
			}
			vars[e.Name] = rewrite(v)
			cmd.Env = append(cmd.Env, e.Name+"="+vars[e.Name])
		}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case err := <-exited:
				if err == nil {
					err = errors.New("rai serve exited 0 before it was ready")
				}
				return out.String(), err
			case <-deadline:
				cmd.Process.Kill()
				<-exited
				t.Fatalf("rai serve was not ready within 60s:\n%s", out.String())
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, contract.ReadinessPath))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					cmd.Process.Kill()
					<-exited
					return out.String(), nil
				}
			}
		}
	}

	if out, err := serve(t, "not-the-secret"); err == nil || !strings.Contains(out, "SignatureDoesNotMatch") || !strings.Contains(out, modelURI) {
		t.Errorf("rai serve with a wrong secret key: %v, want an exit naming %s and SignatureDoesNotMatch:\n%s", err, modelURI, out)
	}
	if out, err := serve(t, s3test.SecretKey); err != nil {
		t.Fatalf("rai serve with the right credentials: %v\n%s", err, out)
	}
	if _, cached := os.Stat(filepath.Join(hostCache, obj.Namespace, "sha256", digestOf(modelBytes))); cached != nil {
		t.Fatalf("the model is not in the node cache under its namespace: %v", cached)
	}
	srv.Stop()
	// The next pod of the same digest on this node: the cache has it.
	if out, err := serve(t, s3test.SecretKey); err != nil {
		t.Fatalf("rai serve of a cached digest with the S3 server down: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// demoArtifacts returns the demo's fair-dp model and its evaluation data.
func demoArtifacts(t *testing.T, rai string) (model, data []byte) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(rai, "model", "demo", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("rai model demo: %v\n%s", err, out)
	}
	var demo struct {
		DataSets []struct{ Name, File string } `json:"dataSets"`
		Models   []struct{ Name, File string } `json:"models"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "models.json"))
	if err == nil {
		err = json.Unmarshal(raw, &demo)
	}
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string, files []struct{ Name, File string }) []byte {
		i := slices.IndexFunc(files, func(f struct{ Name, File string }) bool { return f.Name == name })
		if i < 0 {
			t.Fatalf("no demo artifact %s", name)
		}
		b, err := os.ReadFile(filepath.Join(dir, files[i].File))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return read("fair-dp", demo.Models), read("eval", demo.DataSets)
}
