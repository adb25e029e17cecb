// Command localnode is the dev cluster's local execution node: a
// virtual-kubelet node whose pods run as processes on this machine (see
// package provider for how a container maps to a process).
//
//	localnode --kubeconfig _output/dev-cluster/kubeconfig \
//	  --state-dir _output/dev-cluster/localnode \
//	  --binary-map rai=$PWD/bin/rai
//
// It registers node "local-exec" labelled rai.responsible-ai.dev/local-exec=true
// and tainted rai.responsible-ai.dev/local-exec=true:NoSchedule. On SIGINT or
// SIGTERM it stops every pod's processes (SIGTERM, then SIGKILL after
// --shutdown-grace) before exiting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/responsible-ai/rmodel-operator/cmd/localnode/provider"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localnode:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig    = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to join")
		nodeName      = flag.String("node-name", provider.DefaultNodeName, "name of the node to register")
		stateDir      = flag.String("state-dir", "_output/dev-cluster/localnode", "directory for per-pod files, logs and process IDs")
		cpu           = flag.String("cpu", "", "advertised CPU capacity (default: this machine's CPUs)")
		memory        = flag.String("memory", "16Gi", "advertised memory capacity")
		pods          = flag.String("pods", "32", "advertised pod capacity")
		shutdownGrace = flag.Duration("shutdown-grace", 5*time.Second, "on exit, how long pods' processes get between SIGTERM and SIGKILL")
		kubeletPort   = flag.Int("kubelet-port", 10250, "port on 127.0.0.1 for the kubelet API's log route (kubectl logs); 0 disables it")
		verbose       = flag.Bool("v", false, "debug logging")
		binaryMaps    listFlag
		envs          listFlag
	)
	flag.Var(&binaryMaps, "binary-map", "NAME=PATH: run PATH for a container command whose first word is NAME or an absolute path ending in /NAME (repeatable)")
	flag.Var(&envs, "env", "KEY=VALUE added to every container's environment before its own env, as an image's environment would be (repeatable)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", flag.Args())
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	vklog.L = vkslog.FromSlog(logger)

	if *kubeletPort < 0 || *kubeletPort > 65535 {
		return fmt.Errorf("--kubelet-port %d: want 0 (off) or a TCP port", *kubeletPort)
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig (or KUBECONFIG) is required")
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	binaries, err := provider.ParseBinaryMap(binaryMaps)
	if err != nil {
		return err
	}
	baseEnv := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range envs {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE", e)
		}
		baseEnv = append(baseEnv, e)
	}

	capacity := provider.DefaultCapacity()
	for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: *cpu, corev1.ResourceMemory: *memory, corev1.ResourcePods: *pods} {
		if v == "" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", name, v, err)
		}
		capacity[name] = q
	}

	n, prov, err := provider.NewNode(provider.Config{
		NodeName: *nodeName,
		StateDir: *stateDir,
		Binaries: binaries,
		BaseEnv:  baseEnv,
		Client:   client,
	}, provider.NodeSpec(*nodeName, capacity, int32(*kubeletPort)))
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger.Info("starting local execution node", "node", *nodeName, "stateDir", *stateDir, "binaryMap", binaryMaps.String())
	go func() {
		if err := n.WaitReady(ctx, 0); err == nil {
			logger.Info("node ready", "node", *nodeName)
		}
	}()
	runErr := n.Run(ctx)
	logger.Info("stopping pods' processes")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownGrace+10*time.Second)
	defer cancel()
	if err := prov.Shutdown(shutdownCtx, *shutdownGrace); err != nil {
		return err
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}
