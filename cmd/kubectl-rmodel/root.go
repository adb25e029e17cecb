package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// scheme knows the rai types and the core ones (ConfigMaps).
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := raiv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// kubeFlags are kubectl's connection flags.
type kubeFlags struct {
	kubeconfig, context, cluster, user, namespace string
	allNamespaces                                 bool
	requestTimeout                                time.Duration
}

// clientFunc returns what the commands read the cluster through and the
// namespace the flags (or else the kubeconfig's context) select. The
// commands need only a client.Reader, so tests hand them a fake one.
type clientFunc func(f *kubeFlags) (client.Client, string, error)

// env is what the commands print to and read from.
type env struct {
	Out, ErrOut io.Writer
	// Now renders ages; tests fix it.
	Now    func() time.Time
	Client clientFunc
}

// kubeClient connects as kubectl does: KUBECONFIG or ~/.kube/config, or
// --kubeconfig, with --context, --cluster, --user and -n overriding.
func kubeClient(f *kubeFlags) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.context}
	overrides.Context.Cluster = f.cluster
	overrides.Context.AuthInfo = f.user
	overrides.Context.Namespace = f.namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", err
	}
	cfg.UserAgent = "kubectl-rmodel/" + version
	cfg.Timeout = f.requestTimeout
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}

// session is one command's connection.
type session struct {
	c client.Reader
	// w writes: approve, reject, override, retry and rollback do.
	w         client.Client
	namespace string
	all       bool
	out       io.Writer
	now       time.Time
}

func newRootCmd(e *env) *cobra.Command {
	f := &kubeFlags{}
	root := &cobra.Command{
		Use:   "kubectl-rmodel",
		Short: "Read ResponsibleModels: verdicts, why a version was denied, history, model cards, decision records",
		Long: `kubectl rmodel reads what the rmodel operator decided about ResponsibleModels:

  get [NAME]         a table of models: versions, verdict, readiness, serving, GPUs
  why NAME           the decision on the candidate (or the stable version): violations,
                     thresholds and their sources, what would pass, evaluations, conditions
  history NAME       promotions, denials and rollbacks, and the decision chain's head
  card NAME          the stable version's model card (Markdown)
  diff NAME V1 V2    two versions' evidence side by side, from their DecisionRecords
  verify NAME|-A     check the DecisionRecord chain against the head in the model's status

  approve NAME       approve the candidate's decision (a ModelApproval in your name)
  reject NAME        reject it
  override NAME      break glass: promote a denied candidate (needs the override verb)
  retry NAME         run the candidate's failed evaluations again (the retry annotation)

Only approve, reject, override and retry write. Connection flags are kubectl's (--kubeconfig, --context, -n, -A).`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl rmodel"},
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(e.Out)
	root.SetErr(e.ErrOut)
	pf := root.PersistentFlags()
	pf.StringVar(&f.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&f.context, "context", "", "the kubeconfig context to use")
	pf.StringVar(&f.cluster, "cluster", "", "the kubeconfig cluster to use")
	pf.StringVar(&f.user, "user", "", "the kubeconfig user to use")
	pf.StringVarP(&f.namespace, "namespace", "n", "", "the namespace (default: the context's)")
	pf.DurationVar(&f.requestTimeout, "request-timeout", 0, "how long to wait for one request to the API server (0: no limit)")

	connect := func(cmd *cobra.Command) (*session, error) {
		c, ns, err := e.Client(f)
		if err != nil {
			return nil, err
		}
		if ns == "" {
			ns = "default"
		}
		return &session{c: c, w: c, namespace: ns, all: f.allNamespaces, out: cmd.OutOrStdout(), now: e.Now()}, nil
	}
	allFlag := func(cmd *cobra.Command) {
		cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "every namespace")
	}
	root.AddCommand(newGetCmd(connect, allFlag), newWhyCmd(connect), newHistoryCmd(connect),
		newCardCmd(connect), newDiffCmd(connect), newVerifyCmd(connect, allFlag),
		newApprovalCmd(connect, raiv1.ApprovalApprove), newApprovalCmd(connect, raiv1.ApprovalReject), newApprovalCmd(connect, raiv1.ApprovalOverride),
		newRetryCmd(connect), newRollbackCmd(connect))
	return root
}

type connectFunc func(cmd *cobra.Command) (*session, error)

// outputFlag adds -o json|yaml.
func outputFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVarP(v, "output", "o", "", "output format: json or yaml (default: human-readable text)")
}

func checkOutput(format string) error {
	switch format {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("unknown output format %q: want json or yaml", format)
}

// printStructured writes v as indented JSON or as YAML.
func printStructured(out io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// table is kubectl's table writer (tabwriter, padding 3), without the
// trailing blanks of an empty last column.
type table struct {
	*tabwriter.Writer
	buf *bytes.Buffer
	out io.Writer
}

func newTable(out io.Writer) *table {
	buf := &bytes.Buffer{}
	return &table{Writer: tabwriter.NewWriter(buf, 6, 4, 3, ' ', 0), buf: buf, out: out}
}

// Flush writes the table.
func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(t.buf.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l[:len(l)-1], " ") + "\n"
		}
	}
	t.buf.Reset()
	_, err := io.WriteString(t.out, strings.Join(lines, ""))
	return err
}

func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

// orDash renders an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// short abbreviates a digest to 12 characters.
func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return orDash(d)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
