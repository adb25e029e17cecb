package provider

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"

	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
)

// The local execution node's contract with the rest of the dev cluster.
// A pod runs here only if it tolerates LocalExecTaint, and it should select
// the node with LocalExecLabel=true; the operator's evaluation Jobs do both
// when the manager is told to use the local node. The node carries no kwok
// annotation, so kwok (which manages only annotated nodes) leaves it and its
// pods alone.
const (
	// LocalExecLabel marks the local execution node (value "true").
	LocalExecLabel = "rai.responsible-ai.dev/local-exec"
	// LocalExecTaintKey is the key of the node's NoSchedule taint (value
	// "true"), which keeps every pod that does not ask for the node away.
	LocalExecTaintKey = "rai.responsible-ai.dev/local-exec"
	// DefaultNodeName is the local execution node's name in the dev cluster.
	DefaultNodeName = "local-exec"
)

// NodeSpec is the Node object the agent registers: labelled and tainted as
// described above, reachable at 127.0.0.1, with the given capacity.
func NodeSpec(name string, capacity corev1.ResourceList, kubeletPort int32) corev1.Node {
	conditions := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeNetworkUnavailable} {
		conditions = append(conditions, corev1.NodeCondition{
			Type: t, Status: corev1.ConditionFalse, Reason: "LocalNode",
			Message:            "the local execution node does not track this pressure",
			LastHeartbeatTime:  metav1.Now(),
			LastTransitionTime: metav1.Now(),
		})
	}
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				LocalExecLabel:           "true",
				"type":                   "virtual-kubelet",
				"kubernetes.io/role":     "agent",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     runtime.GOARCH,
			},
		},
		Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: LocalExecTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule}},
		},
		Status: corev1.NodeStatus{
			Phase:       corev1.NodePending,
			Capacity:    capacity,
			Allocatable: capacity,
			Conditions:  conditions,
			// No Hostname address: the API server would prefer it for
			// kubectl logs, and the node name does not resolve.
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: PodIP}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: kubeletPort}},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: "linux",
				Architecture:    runtime.GOARCH,
				KubeletVersion:  "v1.37.2-localnode",
			},
		},
	}
}

// DefaultCapacity is the local node's advertised capacity: this machine's
// CPUs, 16Gi of memory and 32 pods. Nothing is enforced; it only lets the
// scheduler place the pods that ask for the node.
func DefaultCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("32"),
		corev1.ResourceEphemeralStorage: resource.MustParse("50Gi"),
	}
}

// NewNode wires a Provider into virtual-kubelet's node: the node controller
// registers nodeSpec and keeps its status and lease fresh, and the pod
// controller feeds the provider the pods bound to the node and writes back
// the statuses it notifies. Run the returned node with Run; call the
// provider's Shutdown afterwards so that no process outlives the agent.
//
// When nodeSpec advertises a kubelet port, the node also serves the kubelet
// API's log route there, on 127.0.0.1 over TLS with a self-signed
// certificate and no authentication, so that `kubectl logs` works: the dev
// cluster's kube-apiserver neither verifies kubelet certificates nor sends
// client certificates. Only processes on this machine can reach it.
func NewNode(cfg Config, nodeSpec corev1.Node) (*nodeutil.Node, *Provider, error) {
	if nodeSpec.Name != cfg.NodeName {
		return nil, nil, fmt.Errorf("node spec name %q differs from provider node name %q", nodeSpec.Name, cfg.NodeName)
	}
	prov, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	opts := []nodeutil.NodeOpt{func(nc *nodeutil.NodeConfig) error {
		nc.Client = cfg.Client
		nc.NodeSpec = nodeSpec
		nc.NumWorkers = 4
		return nil
	}}
	if port := nodeSpec.Status.DaemonEndpoints.KubeletEndpoint.Port; port > 0 {
		tlsConfig, err := selfSignedTLS(nodeSpec.Name)
		if err != nil {
			return nil, nil, err
		}
		mux := http.NewServeMux()
		opts = append(opts, nodeutil.AttachProviderRoutes(mux), func(nc *nodeutil.NodeConfig) error {
			nc.HTTPListenAddr = net.JoinHostPort(PodIP, strconv.Itoa(int(port)))
			nc.TLSConfig = tlsConfig
			nc.Handler = mux
			return nil
		})
	}
	n, err := nodeutil.NewNode(cfg.NodeName,
		func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
			return prov, nil, nil
		},
		opts...,
	)
	if err != nil {
		return nil, nil, fmt.Errorf("create virtual-kubelet node: %w", err)
	}
	return n, prov, nil
}

// selfSignedTLS makes a server certificate for 127.0.0.1 and the node name.
func selfSignedTLS(nodeName string) (*tls.Config, error) {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(nodeName, []net.IP{net.ParseIP(PodIP)}, []string{nodeName})
	if err != nil {
		return nil, fmt.Errorf("generate kubelet API certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load kubelet API certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
