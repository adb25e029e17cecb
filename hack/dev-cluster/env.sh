# Shared settings of the dev cluster scripts; sourced, not run.
#
# Every file the cluster writes lives under _output/dev-cluster (ignored by
# git): kwokctl's work directory (KWOK_WORKDIR, so nothing lands in ~/.kwok),
# the kubeconfig (kwokctl would otherwise edit ~/.kube/config), the local
# node's state and logs.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="$root/bin"
# DEV_CLUSTER_KUBE_BIN: another directory of etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl (default bin/k8s).
kube_bin="${DEV_CLUSTER_KUBE_BIN:-$bin/k8s}"
cluster_name="${DEV_CLUSTER_NAME:-rmodel-dev}"
# DEV_CLUSTER_DIR lets a second cluster run beside the default one (give it
# its own DEV_CLUSTER_NAME, and LOCALNODE_ARGS="--kubelet-port <free port>").
out="${DEV_CLUSTER_DIR:-$root/_output/dev-cluster}"
kubeconfig="$out/kubeconfig"
localnode_dir="$out/localnode"
localnode_pid="$out/localnode.pid"
localnode_log="$out/localnode.log"
export KWOK_WORKDIR="$out/kwok"
export KWOK_KUBECTL_BINARY="$kube_bin/kubectl"
export KUBECONFIG="$kubeconfig"
kubectl=("$kube_bin/kubectl" --kubeconfig "$kubeconfig")
