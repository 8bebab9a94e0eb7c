package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/explain"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/controller"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
)

// runExplain implements `wva explain [--json] SNAPSHOT.json|-` and, on a live cluster,
// `wva explain [--json] [--kubeconfig FILE] [--context C] [--prometheus-url URL] [--save FILE]
// va/NAME [-n NS]`. Flags may come before or after the argument.
func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	return runExplainEnv(args, stdin, stdout, stderr, now, os.Getenv)
}

// runExplainEnv is runExplain reading the environment through getenv.
func runExplainEnv(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time, getenv func(string) string) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the decisions as JSON")
	save := fs.String("save", "", "also write the snapshot to this file (docs/snapshot.schema.json describes the format)")
	shipped := defaults.Shipped()
	live := liveOptions{Analyzer: shipped.Analyzer, MetricsWindow: shipped.MetricsWindow, GatewayMetric: promsource.DefaultGatewayMetric,
		ConfigMaps: controller.DefaultConfigMapNames()}
	applyConfigMapEnv(&live.ConfigMaps, getenv)
	fs.StringVar(&live.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default $KUBECONFIG, else ~/.kube/config); va/NAME only")
	fs.StringVar(&live.Context, "context", "", "kubeconfig context (default: the current one); va/NAME only")
	fs.StringVar(&live.Namespace, "namespace", "", "namespace of the VariantAutoscaling (default: the context's); va/NAME only")
	fs.StringVar(&live.Namespace, "n", "", "shorthand for --namespace")
	fs.StringVar(&live.PrometheusURL, "prometheus-url", "",
		"Prometheus URL, e.g. of a port-forward (default: PROMETHEUS_BASE_URL from the environment, else the main ConfigMap); va/NAME only")
	fs.BoolVar(&live.PrometheusAllowHTTP, "prometheus-allow-http", false, "allow a plain-HTTP Prometheus URL; va/NAME only")
	fs.StringVar(&live.Analyzer, "analyzer", live.Analyzer, fmt.Sprintf("analyzer the manager runs, one of %v; va/NAME only", analysis.Names()))
	fs.DurationVar(&live.MetricsWindow, "metrics-window", live.MetricsWindow, "the manager's --metrics-window; va/NAME only")
	fs.StringVar(&live.GatewayMetric.Metric, "gateway-request-metric", live.GatewayMetric.Metric, "the manager's --gateway-request-metric; va/NAME only")
	fs.StringVar(&live.GatewayMetric.ModelLabel, "gateway-model-label", live.GatewayMetric.ModelLabel, "the manager's --gateway-model-label; va/NAME only")
	fs.StringVar(&live.ConfigMaps.Namespace, "config-namespace", live.ConfigMaps.Namespace,
		"namespace of the manager's ConfigMaps (default POD_NAMESPACE, else the install's); va/NAME only")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: wva explain [--json] [--save FILE] SNAPSHOT.json|-")
		fmt.Fprintln(stderr, "       wva explain [--json] [--save FILE] [--kubeconfig FILE] [--context C] [--prometheus-url URL] va/NAME [-n NS]")
		fmt.Fprintln(stderr, "Runs an analyzer over a snapshot file ('-' reads stdin), or over the snapshot the engine sees now")
		fmt.Fprintln(stderr, "for the model of VariantAutoscaling NAME, and explains each variant's decision.")
		fs.PrintDefaults()
	}

	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(operands) != 1 {
		fmt.Fprintf(stderr, "wva explain: want exactly one snapshot file, got %d (or va/NAME on a live cluster)\n", len(operands))
		fs.Usage()
		return exitUsage
	}

	var err error
	if name, ok := vaName(operands[0]); ok {
		live.Name = name
		err = explainLive(live, *save, *asJSON, stdout, now, getenv)
	} else {
		err = explainFile(operands[0], *save, *asJSON, stdin, stdout, now)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wva explain: %v\n", err)
		return exitError
	}
	return exitOK
}

// vaName returns NAME of an operand va/NAME (or variantautoscaling/NAME, as kubectl spells it).
func vaName(operand string) (string, bool) {
	for _, prefix := range []string{"va/", "variantautoscaling/", "variantautoscalings/", "variantautoscaling.llmd.ai/"} {
		if name, ok := strings.CutPrefix(operand, prefix); ok && name != "" {
			return name, true
		}
	}
	return "", false
}

// applyConfigMapEnv reads the ConfigMap locations from the variables the manager honours.
func applyConfigMapEnv(n *controller.ConfigMapNames, getenv func(string) string) {
	for _, kv := range []struct {
		env string
		dst *string
	}{{"POD_NAMESPACE", &n.Namespace}, {"CONFIG_MAP_NAME", &n.Main}, {"SATURATION_CONFIG_MAP_NAME", &n.Saturation},
		{"SERVICE_CLASSES_CONFIG_MAP_NAME", &n.ServiceClasses}} {
		if v := getenv(kv.env); v != "" {
			*kv.dst = v
		}
	}
}

// explainLive captures the snapshot of live.Name's model, saves it when save is set, and
// explains it.
func explainLive(live liveOptions, save string, asJSON bool, stdout io.Writer, now time.Time, getenv func(string) string) error {
	cfg, ns, err := liveRestConfig(live)
	if err != nil {
		return err
	}
	if live.Namespace == "" {
		live.Namespace = ns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snap, err := captureLive(ctx, cfg, live, getenv, now)
	if err != nil {
		return err
	}
	return explainSnapshot(snap, save, asJSON, stdout, now)
}

// explainFile reads the snapshot at path ("-" for stdin), runs its analyzer and writes the report.
func explainFile(path, save string, asJSON bool, stdin io.Reader, stdout io.Writer, now time.Time) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("opening snapshot: %w", err)
		}
		defer f.Close()
		in = f
	}
	snap, err := explain.Decode(in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := explainSnapshot(snap, save, asJSON, stdout, now); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// explainSnapshot saves snap when save is set, runs its analyzer and writes the report. A
// captured snapshot is analysed at its capture time, so that a saved one explains the same.
func explainSnapshot(snap explain.Snapshot, save string, asJSON bool, stdout io.Writer, now time.Time) error {
	if save != "" {
		if err := writeSnapshot(save, snap); err != nil {
			return err
		}
	}
	if snap.CapturedAt != nil {
		now = *snap.CapturedAt
	}
	rep, err := explain.Explain(snap, now)
	if err != nil {
		return err
	}
	if asJSON {
		return explain.WriteJSON(stdout, rep)
	}
	return explain.WriteText(stdout, rep)
}

// writeSnapshot writes snap to path in the snapshot format.
func writeSnapshot(path string, snap explain.Snapshot) error {
	var buf bytes.Buffer
	if err := explain.Encode(&buf, snap); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("saving the snapshot: %w", err)
	}
	return nil
}
