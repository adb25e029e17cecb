package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/serving"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

func init() {
	var cfg serving.Config
	var port, grpcPort int
	var device, labels string
	cmd := &cobra.Command{
		Use:   contract.CommandServe + " --model-uri URI --sha256 HEX",
		Short: "Serve an ONNX model over the Open Inference Protocol v2 (KServe V2) REST and gRPC APIs",
		Long: `Serve one ONNX model over the Open Inference Protocol v2 REST API:
/v2, ` + contract.LivenessPath + `, ` + contract.ReadinessPath + `, /v2/models/NAME[/versions/V][/ready|/infer], and
Prometheus metrics at /metrics; infer takes Triton's binary tensor extension
(Inference-Header-Content-Length). The same API over gRPC (inference.GRPCInferenceService:
ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer with
raw_input_contents, and grpc.health.v1.Health) listens on --grpc-port (off unless given; the
operator's serving pods use --port + ` + strconv.Itoa(contract.GRPCPortOffset) + `); both share batching, metrics and the audit log.

The model is read from file:// or http(s):// and refused unless its sha256 matches. The server
listens at once (live) and reports ready after the model loaded and answered a warm-up inference.
Concurrent requests are merged into batches of up to --max-batch-size rows (1 turns batching off).
Each prediction is appended to the hash-chained audit log when --audit-log is set (verify it with
'rai audit verify'). An existing log is verified in full at start and continued; one that does not
verify stops the server, unless --` + contract.FlagAuditLogRotateBroken + ` moves it aside and starts a new
chain. The log's head is at ` + contract.AuditHeadPath + `. With --` + monitoring.FlagMonitoring + `, the server keeps
per-window aggregates of its traffic (feature sketches, predictions per sensitive group, and the
confusion counts that ground truth POSTed to /v2/models/NAME/feedback adds), never rows, and
answers them at /v2/models/NAME/monitoring. SIGTERM or SIGINT drains the requests in flight, then
exits.

Text models (--` + contract.FlagTask + ` ` + contract.TaskTextClassification + ` or ` + contract.TaskTokenClassification + `) take their Hugging Face
tokenizer.json from --` + contract.FlagTokenizer + ` (fetched and digest-checked against --` + contract.FlagTokenizerSHA256 + ` as the model is) and
answer the input "text" (BYTES [batch]) with label, score and probabilities, or entities; or the
token tensors input_ids and attention_mask (INT64) with logits. A text longer than the max length
is refused, not truncated. Monitoring is not supported for text models.

onnxruntime comes from --onnxruntime-lib, $` + onnx.LibraryEnv + `, bin/onnxruntime (make onnxruntime)
or beside the rai executable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if unused := cfg.Monitoring.Unused(cmd.Flags()); len(unused) > 0 {
				return fmt.Errorf("%s given without --%s: monitoring is off", strings.Join(unused, ", "), monitoring.FlagMonitoring)
			}
			cfg.Device = onnx.Device(device)
			cfg.Labels = nil
			if labels != "" {
				cfg.Labels = strings.Split(labels, ",")
				for i, l := range cfg.Labels {
					if cfg.Labels[i] = strings.TrimSpace(l); cfg.Labels[i] == "" {
						return fmt.Errorf("--%s %q: label %d is empty", contract.FlagLabels, labels, i)
					}
				}
			}
			cfg.ServerVersion = version
			cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
			srv, err := serving.New(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
			if err != nil {
				return fmt.Errorf("listen on port %d: %w", port, err)
			}
			var grpcLn net.Listener
			if grpcPort != 0 {
				if grpcLn, err = net.Listen("tcp", fmt.Sprintf(":%d", grpcPort)); err != nil {
					ln.Close()
					return fmt.Errorf("listen on gRPC port %d: %w", grpcPort, err)
				}
				cfg.Logger.Info("listening for gRPC", "address", grpcLn.Addr().String())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			cfg.Logger.Info("listening", "address", ln.Addr().String(), "model_uri", cfg.ModelURI)
			err = srv.Serve(ctx, ln, grpcLn)
			if be, ok := errors.AsType[*audit.BrokenLogError](err); ok {
				return fmt.Errorf("%w\n'rai audit verify %s' shows the break; --%s moves the log aside and starts a new chain", err, be.Path, contract.FlagAuditLogRotateBroken)
			}
			return err
		},
	}
	f := cmd.Flags()
	// The flags the operator passes are named, and default, as internal/contract says.
	f.StringVar(&cfg.ModelURI, contract.FlagModelURI, "", "model location: file:///path, http://..., https://... or s3://bucket/key (required; s3:// reads AWS_ENDPOINT_URL_S3, AWS_REGION, RAI_S3_PATH_STYLE and the AWS_* credentials from the environment, and RAI_ARTIFACT_CACHE names a cache by digest)")
	f.StringVar(&cfg.SHA256, contract.FlagSHA256, "", "expected sha256 of the model file, hex (required)")
	f.StringVar(&cfg.Name, contract.FlagName, contract.DefaultServedName, "model name in the API paths")
	f.IntVar(&port, contract.FlagPort, contract.DefaultServingPort, "HTTP port")
	f.IntVar(&grpcPort, contract.FlagGRPCPort, contract.DefaultGRPCPort, "OIP v2 gRPC port (0: no gRPC)")
	f.StringVar(&device, contract.FlagDevice, contract.DefaultDevice, "execution provider: cpu or cuda (cuda fails at start when unavailable)")
	f.StringVar(&cfg.AuditLogPath, contract.FlagAuditLog, "", "append-only hash-chained JSON-lines audit log (off when empty); an existing one is verified, then continued")
	f.IntVar(&cfg.MaxBatchSize, contract.FlagMaxBatchSize, contract.DefaultMaxBatchSize, "most rows in one dynamic batch; 1 turns dynamic batching off")
	f.DurationVar(&cfg.MaxBatchDelay, contract.FlagMaxBatchDelay, contract.DefaultMaxBatchDelay, "longest a batch waits for requests already arriving")
	f.StringVar(&cfg.LibraryPath, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default: $"+onnx.LibraryEnv+", bin/onnxruntime, or beside the executable)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", 16<<20, "largest request body accepted (larger gets 413)")
	f.StringVar(&cfg.Task, contract.FlagTask, contract.TaskBinaryClassification, "the model's task: "+contract.TaskBinaryClassification+" (tabular), "+contract.TaskTextClassification+" or "+contract.TaskTokenClassification)
	f.StringVar(&cfg.TokenizerURI, contract.FlagTokenizer, "", "a text model's tokenizer.json, located as --"+contract.FlagModelURI+" (text tasks only)")
	f.StringVar(&cfg.TokenizerSHA256, contract.FlagTokenizerSHA256, "", "expected sha256 of the tokenizer.json, hex (text tasks only)")
	f.StringVar(&labels, contract.FlagLabels, "", "a text model's label names in logit order, comma-separated (default: the model's rai.labels or id2label metadata)")
	f.IntVar(&cfg.MaxLength, contract.FlagMaxLength, 0, "a text model's max tokens per text, [CLS] and [SEP] included (0: rai.max_length metadata, else the tokenizer's truncation, else "+strconv.Itoa(contract.DefaultMaxLength)+")")
	f.IntVar(&cfg.MaxTextBytes, "max-text-bytes", 64<<10, "largest text accepted, in bytes (larger gets 413)")
	cfg.Limits.BindFlags(f)
	cfg.Monitoring.BindFlags(f)
	f.StringVar(&cfg.ModelVersion, contract.FlagModelVersion, "", "model version reported (default: the ONNX model_version, else 1)")
	f.BoolVar(&cfg.AuditRawInputs, "audit-raw-inputs", false, "also write raw inputs to the audit log (they may be personal data)")
	f.BoolVar(&cfg.AuditLogRotateBroken, contract.FlagAuditLogRotateBroken, false,
		"when the existing audit log does not verify, rename it to PATH.broken-<unix time> and start a new chain (default: refuse to start)")
	f.IntVar(&cfg.IntraOpThreads, "intra-op-threads", 1, "onnxruntime threads per run")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", 30*time.Second, "longest the graceful shutdown waits for requests in flight")
	cmd.MarkFlagRequired(contract.FlagModelURI)
	cmd.MarkFlagRequired(contract.FlagSHA256)
	rootCmd.AddCommand(cmd)
}
