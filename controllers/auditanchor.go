package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
)

// Anchoring the inference audit logs. Each serving pod hash-chains its
// predictions; whoever can write a pod's log could cut entries off its end
// and leave a valid, shorter chain. The operator therefore reads each ready
// serving pod's head (/v2/audit/head) every AuditAnchorInterval and keeps
// it in status.serving.auditHeads, which the pods cannot write: a log that
// no longer reaches its anchored head was cut or rewritten.

// auditHeadResponse is the body of /v2/audit/head.
type auditHeadResponse struct {
	Count   int64  `json:"count"`
	Hash    string `json:"hash"`
	Genesis string `json:"genesis"`
}

// reconcileAuditAnchors reads the serving pods' audit heads when they are
// due. It sets no condition; it records status.serving.auditHeads (one per
// serving pod: a pod that does not answer, or is gone after a rollout,
// keeps its last anchor, the final head of its log; the newest 64 are kept)
// and requeues after the interval. It does nothing when nothing serves.
func (r *ResponsibleModelReconciler) reconcileAuditAnchors(ctx context.Context, s *scope) (ctrl.Result, error) {
	st := &s.obj.Status
	if st.Serving == nil || st.StableVersion == "" {
		return ctrl.Result{}, nil
	}
	every := r.auditAnchorInterval()
	if last := st.Serving.AuditAnchorTime; last != nil && s.now.Sub(last.Time) < every {
		return ctrl.Result{RequeueAfter: every - s.now.Sub(last.Time)}, nil
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(s.obj.Namespace),
		client.MatchingLabels{raiv1.LabelModel: s.obj.Name, raiv1.LabelComponent: "serving"}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list the serving pods to anchor their audit logs: %w", err)
	}
	port := servingPort(s.obj)
	heads := slices.Clone(st.Serving.AuditHeads)
	for _, p := range pods.Items {
		if p.Status.PodIP == "" || !podReady(&p) {
			continue
		}
		h, err := r.readAuditHead(ctx, p.Status.PodIP, port)
		if err != nil {
			log.FromContext(ctx).V(1).Info("audit head not read", "pod", p.Name, "error", err.Error())
			continue
		}
		head := raiv1.AuditHead{Pod: p.Name, Count: h.Count, Hash: h.Hash, Genesis: h.Genesis, Time: metav1.NewTime(s.now)}
		if i := slices.IndexFunc(heads, func(a raiv1.AuditHead) bool { return a.Pod == p.Name }); i >= 0 {
			heads[i] = head
		} else {
			heads = append(heads, head)
		}
	}
	// The newest 64 anchors, by when they were read.
	slices.SortStableFunc(heads, func(a, b raiv1.AuditHead) int { return b.Time.Compare(a.Time.Time) })
	if len(heads) > 64 {
		heads = heads[:64]
	}
	slices.SortFunc(heads, func(a, b raiv1.AuditHead) int { return strings.Compare(a.Pod, b.Pod) })
	st.Serving.AuditHeads = heads
	now := metav1.NewTime(s.now)
	st.Serving.AuditAnchorTime = &now
	return ctrl.Result{RequeueAfter: every}, nil
}

// readAuditHead asks one pod for its head.
func (r *ResponsibleModelReconciler) readAuditHead(ctx context.Context, ip string, port int32) (auditHeadResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(int(port))) + contract.AuditHeadPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return auditHeadResponse{}, err
	}
	c := r.HTTPClient
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return auditHeadResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return auditHeadResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return auditHeadResponse{}, fmt.Errorf("%s: %s", url, resp.Status)
	}
	var h auditHeadResponse
	if err := json.Unmarshal(body, &h); err != nil {
		return auditHeadResponse{}, fmt.Errorf("%s: %w", url, err)
	}
	if h.Count < 0 || len(h.Hash) != 64 {
		return auditHeadResponse{}, fmt.Errorf("%s: not an audit head: %s", url, body)
	}
	return h, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (r *ResponsibleModelReconciler) auditAnchorInterval() time.Duration {
	if r.AuditAnchorInterval > 0 {
		return r.AuditAnchorInterval
	}
	return 5 * time.Minute
}
