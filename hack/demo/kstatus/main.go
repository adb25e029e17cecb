// Command kstatus prints what kstatus — the health library behind Flux's
// health checks, kpt and cli-utils apply/wait — computes for each
// ResponsibleModel in a namespace: one "NAME STATUS MESSAGE" line each.
// The e2e test asserts these, so the demo is checked the way GitOps tools
// read it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	namespace := flag.String("namespace", "default", "namespace of the models")
	flag.Parse()
	if err := run(*kubeconfig, *namespace); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(raiv1.GroupVersion.WithKind("ResponsibleModelList"))
	if err := c.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("list ResponsibleModels: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].GetName() < list.Items[j].GetName() })
	for i := range list.Items {
		res, err := kstatus.Compute(&list.Items[i])
		if err != nil {
			return fmt.Errorf("%s: %w", list.Items[i].GetName(), err)
		}
		fmt.Printf("%s %s %s\n", list.Items[i].GetName(), res.Status, res.Message)
	}
	return nil
}
