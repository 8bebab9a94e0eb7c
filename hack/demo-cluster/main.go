// Command demo-cluster runs WVA's whole chain on this machine and shows it working: it starts the
// local cluster (test/e2e/localcluster: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok GPU nodes, Prometheus), the vLLM emulator (test/e2e/vllmemu) and the WVA
// manager installed from config/default, deploys one model on two variants (L4 and A100, Direct
// actuation), replays the bundled Azure trace compressed into a few minutes, and prints a live
// table: load, WVA's decision, spec.replicas, Ready pods and TTFT. When the trace ends it keeps
// everything running (printing a row whenever the replicas change) until SIGINT, SIGTERM or
// SIGHUP, then stops every process it started and removes the network namespace.
//
// `make demo-cluster` builds it with the manager and hack/local-cluster next to it and runs it;
// it needs root (the cluster creates a network namespace). -h lists the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/go-logr/logr"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/chain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

// namespace is where the demo deploys its variants.
const namespace = "demo"

// emulatorAddr is the vLLM emulator's control API.
const emulatorAddr = "127.0.0.1:9092"

type options struct {
	binDir, stateDir, helper, manager, repoRoot, trace string
	traceSpan, duration, interval, startup             time.Duration
	engineInterval, stabilization                      time.Duration
	rateScale                                          float64
	maxReplicas                                        int
	seed                                               uint64
}

func main() {
	ctrllog.SetLogger(logr.Discard())
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "demo-cluster:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo-cluster:", err)
		if errors.Is(err, localcluster.ErrNetnsUnavailable) {
			fmt.Fprintln(os.Stderr, "demo-cluster: this machine does not allow network namespaces; run as root outside an unprivileged container")
		}
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	self, _ := os.Executable()
	dir := filepath.Dir(self)
	fs := flag.NewFlagSet("demo-cluster", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: demo-cluster --bin-dir DIR [flags]   (make demo-cluster; needs root)

Starts the local cluster, installs WVA, replays the bundled trace (compressed into --duration)
against two variants of one model while printing a live table, then keeps everything running
until Ctrl-C / SIGTERM, which stops every process it started.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.binDir, "bin-dir", os.Getenv("WVA_CLUSTER_BIN"), "directory of the cluster binaries (what hack/cluster-binaries.sh prints)")
	fs.StringVar(&o.stateDir, "state-dir", "out/demo-cluster/state", "state directory of the cluster (PKI, data, logs, pids); emptied at start")
	fs.StringVar(&o.helper, "helper", filepath.Join(dir, "local-cluster"), "the hack/local-cluster binary (http_sd helper and vLLM emulator)")
	fs.StringVar(&o.manager, "manager", filepath.Join(dir, "manager"), "the cmd/manager binary")
	fs.StringVar(&o.repoRoot, "repo-root", ".", "root of the clone (config/default is installed from it)")
	fs.StringVar(&o.trace, "trace", "testdata/traces/azure-llm-inference-2023-conv.csv", "trace to replay (Azure CSV or Mooncake JSONL)")
	fs.DurationVar(&o.traceSpan, "trace-span", 0, "replay the trace's first `D` (0: all of it)")
	fs.DurationVar(&o.duration, "duration", 4*time.Minute, "wall time `D` the replay of the span takes (the trace is compressed in time to fit; longer is gentler)")
	fs.Float64Var(&o.rateScale, "rate-scale", 2, "load level: `K` times the trace's recorded request rate (the shape over time is compressed, the level is not)")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "print a row every `D`")
	fs.DurationVar(&o.startup, "startup-delay", 15*time.Second, "model-load delay `D` of a new pod (Ready after it)")
	fs.DurationVar(&o.engineInterval, "engine-interval", 5*time.Second, "WVA's engine interval `D` (GLOBAL_OPT_INTERVAL; the shipped default is 30s)")
	fs.DurationVar(&o.stabilization, "scale-down-stabilization", 30*time.Second, "the manager's --scale-down-stabilization `D`")
	fs.IntVar(&o.maxReplicas, "max-replicas", 8, "maxReplicas `N` of each variant (16 GPUs per node)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed `N` of the rate scaling")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.binDir == "":
		return o, errors.New("--bin-dir (or WVA_CLUSTER_BIN) is required: BIN=$(hack/cluster-binaries.sh), or run `make demo-cluster`")
	case o.duration <= 0 || o.interval <= 0 || o.engineInterval <= 0:
		return o, errors.New("--duration, --interval and --engine-interval must be positive")
	case o.traceSpan < 0 || o.startup < 0 || o.stabilization < 0:
		return o, errors.New("--trace-span, --startup-delay and --scale-down-stabilization must not be negative")
	case !(o.rateScale > 0):
		return o, fmt.Errorf("--rate-scale must be positive, got %g", o.rateScale)
	case o.maxReplicas < 1 || o.maxReplicas > 16:
		return o, fmt.Errorf("--max-replicas must be within [1, 16] (the GPUs of a node), got %d", o.maxReplicas)
	}
	return o, nil
}

// variants are the demo's two variants of one model.
func variants(o options) []chain.Variant {
	return []chain.Variant{
		{Name: "llama-l4", Profile: sim.ProfileL4, Product: "NVIDIA-L4", Accelerator: "L4", Cost: "0.80",
			Model: sim.DefaultModelID, Startup: o.startup, Min: 1, Max: int32(o.maxReplicas), Direct: true},
		{Name: "llama-a100", Profile: sim.ProfileA100, Product: "NVIDIA-A100-SXM4-40GB", Accelerator: "A100", Cost: "1.29",
			Model: sim.DefaultModelID, Startup: o.startup, Min: 1, Max: int32(o.maxReplicas), Direct: true},
	}
}

// preflight fails early, with what to do, when the demo cannot run here.
func preflight(o options, cfg localcluster.Config) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("this needs root: the local cluster creates a network namespace (%s) with a veth pair and routes the pod CIDR %s into it; run `sudo make demo-cluster`",
			cfg.Network.Namespace, cfg.Network.PodCIDR)
	}
	for _, b := range []string{o.helper, o.manager} {
		if fi, err := os.Stat(b); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is missing or not executable: build it with `go build -o out/demo-cluster/bin/ ./hack/demo-cluster ./hack/local-cluster ./cmd/manager` (make demo-cluster does)", b)
		}
	}
	if _, err := os.Stat(filepath.Join(o.repoRoot, "config", "default", "kustomization.yaml")); err != nil {
		return fmt.Errorf("--repo-root %s holds no config/default: run from the clone's root", o.repoRoot)
	}
	p := cfg.Ports
	for _, port := range []int{p.APIServer, p.Etcd, p.Prometheus, p.ServiceDiscovery, 9092} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("port %d on 127.0.0.1 is taken: another local cluster runs (`make e2e`, or a demo-cluster of another state directory; `out/e2e/bin/local-cluster stop --state-dir DIR` ends one): %w", port, err)
		}
		_ = l.Close()
	}
	return nil
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	t0 := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(out, "[%5.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, a...))
	}
	cfg := localcluster.DefaultConfig(o.stateDir, o.binDir)
	cfg.Helper = o.helper
	if err := preflight(o, cfg); err != nil {
		return err
	}
	reqs, err := workload.Load(o.trace, workload.FormatAuto)
	if err != nil {
		return fmt.Errorf("reading the trace: %w", err)
	}
	sum := workload.Summarize(reqs)
	span := o.traceSpan
	if span == 0 || span > sum.Span {
		span = sum.Span
	}
	if span <= 0 {
		return fmt.Errorf("the trace %s spans no time", o.trace)
	}
	inSpan := workload.Summarize(workload.Window(reqs, 0, span))
	speed := span.Seconds() / o.duration.Seconds()
	traceAbs, err := filepath.Abs(o.trace)
	if err != nil {
		return err
	}

	c, err := localcluster.New(cfg)
	if err != nil {
		return err
	}
	if err := emptiable(c.Config().StateDir); err != nil {
		return err
	}
	_ = c.Stop() // a previous run's leftovers under this state directory
	if err := os.RemoveAll(c.Config().StateDir); err != nil {
		return fmt.Errorf("emptying the state directory: %w", err)
	}
	stopped := false
	stopAll := func() {
		if stopped {
			return
		}
		stopped = true
		say("stopping everything the demo started (manager, emulator, cluster, network namespace %s)", cfg.Network.Namespace)
		if err := c.Stop(); err != nil {
			say("stop: %v", err)
		}
		say("stopped; the logs stay in %s", filepath.Join(c.Config().StateDir, "logs"))
	}
	defer func() {
		stopAll()
		if errors.Is(err, context.Canceled) {
			err = nil // a requested stop
		}
	}()

	say("starting the local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok GPU nodes, Prometheus)")
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("starting the cluster: %w\nlogs: %s", err, filepath.Join(c.Config().StateDir, "logs"))
	}
	say("cluster up; starting the vLLM emulator and installing WVA from config/default (engine interval %s, Direct actuation)", o.engineInterval)
	cl, err := chain.NewClient(c)
	if err != nil {
		return err
	}
	if err := chain.StartEmulator(c, emulatorAddr); err != nil {
		return err
	}
	emu := chain.Emulator{Addr: emulatorAddr}
	if err := emu.WaitHealthy(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("%w (log: %s)", err, c.LogFile(chain.EmulatorComponent))
	}
	repoAbs, err := filepath.Abs(o.repoRoot)
	if err != nil {
		return err
	}
	if err := chain.InstallManager(ctx, c, cl, chain.InstallOptions{RepoRoot: repoAbs, ManagerBin: o.manager,
		EngineInterval: o.engineInterval.String(), ScaleDownStabilization: o.stabilization}); err != nil {
		return err
	}
	vs := variants(o)
	if err := chain.Deploy(ctx, c, cl, namespace, vs...); err != nil {
		return err
	}
	say("deployed %s (L4, $%s/h) and %s (A100, $%s/h) serving %s in namespace %s, replicas [1, %d] each",
		vs[0].Name, vs[0].Cost, vs[1].Name, vs[1].Cost, sim.DefaultModelID, namespace, o.maxReplicas)
	say("waiting for the first pods to load the model (%s) and for WVA to see their metrics", o.startup)
	if err := waitReady(ctx, c, cl, vs); err != nil {
		return err
	}

	tab := &table{out: out, vs: vs}
	if st, err := emu.Stats(); err == nil {
		k := namespace + "/" + sim.DefaultModelID
		tab.arrivals, tab.at = st.Dispatched[k]+st.Pending[k], time.Now()
	}
	lr := vllmemu.LoadRequest{Namespace: namespace, Model: sim.DefaultModelID, Trace: traceAbs,
		SpanSeconds: span.Seconds(), Speed: speed, RateScale: o.rateScale / speed, Seed: o.seed}
	if err := emu.SetLoad(lr); err != nil {
		return err
	}
	tStart := time.Now()
	say("replaying %s of %s (%d requests, %.1f req/s recorded) in %s: %.1f× faster, at %g× its rate (%.1f req/s on average)",
		span.Round(time.Second), filepath.Base(o.trace), inSpan.Requests, inSpan.MeanRate, o.duration, speed, o.rateScale, inSpan.MeanRate*o.rateScale)
	tab.header()
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	end := tStart.Add(o.duration)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return ctx.Err()
		case <-tick.C:
		}
		if !time.Now().Before(end) {
			break // the row below says "done"
		}
		if err := tab.row(ctx, cl, emu, tStart, o.duration, false); err != nil && ctx.Err() == nil {
			say("reading the state: %v", err)
		}
	}
	// The trace is over: the load stops (the emulator would replay nothing more anyway).
	if err := emu.SetLoad(vllmemu.LoadRequest{Namespace: namespace, Model: sim.DefaultModelID}); err != nil {
		say("stopping the load: %v", err)
	}
	if err := tab.row(ctx, cl, emu, tStart, o.duration, true); err != nil && ctx.Err() == nil {
		say("reading the state: %v", err)
	}
	note(out, c, o, tab)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := tab.row(ctx, cl, emu, tStart, o.duration, false); err != nil && ctx.Err() == nil {
			say("reading the state: %v", err)
		}
	}
}

// waitReady waits until every variant has a Ready pod with metrics WVA reads.
func waitReady(ctx context.Context, c *localcluster.Cluster, cl client.Client, vs []chain.Variant) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		s, err := chain.Observe(ctx, cl, namespace, vs...)
		if err == nil {
			err = func() error {
				for _, v := range vs {
					if s.Ready[v.Name] < int(v.Min) {
						return fmt.Errorf("%s: %d of %d pods Ready", v.Name, s.Ready[v.Name], v.Min)
					}
					if s.MetricsAvailable[v.Name] != metav1.ConditionTrue {
						return fmt.Errorf("%s: MetricsAvailable %q (%s)", v.Name, s.MetricsAvailable[v.Name], s.Reasons[v.Name])
					}
				}
				return nil
			}()
		}
		if err == nil {
			return nil
		}
		if !c.Running(chain.ManagerComponent) {
			return fmt.Errorf("the manager exited; see %s:\n%s", c.LogFile(chain.ManagerComponent), localcluster.Tail(c.LogFile(chain.ManagerComponent), 15))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 3m: %w (logs: %s)", err, filepath.Join(c.Config().StateDir, "logs"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// table prints the live rows.
type table struct {
	out io.Writer
	vs  []chain.Variant
	// last arrivals count and its time, for the load column; last state, to print only changes
	// after the trace.
	arrivals int
	at       time.Time
	last     chain.Snapshot
}

func (t *table) header() {
	fmt.Fprintf(t.out, "\n%6s %6s %7s | %-9s | %-9s | %-9s | %8s\n", "time", "trace", "load", "decision", "replicas", "ready", "TTFT p90")
	fmt.Fprintf(t.out, "%6s %6s %7s | %4s %4s | %4s %4s | %4s %4s | %8s\n", "", "", "req/s", "L4", "A100", "L4", "A100", "L4", "A100", "")
}

// row prints one row: elapsed time since the trace started, the trace's progress (done after
// it), the arrival rate since the last row, the variants' decision, spec.replicas and Ready pods,
// and the emulator's 90th percentile TTFT over the last minute. After the trace it prints
// nothing when the replicas are as in the last row, unless force.
func (t *table) row(ctx context.Context, cl client.Client, emu chain.Emulator, start time.Time, d time.Duration, force bool) error {
	s, err := chain.Observe(ctx, cl, namespace, t.vs...)
	if err != nil {
		return err
	}
	st, err := emu.Stats()
	if err != nil {
		return err
	}
	now := time.Now()
	k := namespace + "/" + sim.DefaultModelID
	arrivals := st.Dispatched[k] + st.Pending[k]
	rate := 0.0
	if !t.at.IsZero() && now.After(t.at) {
		rate = float64(arrivals-t.arrivals) / now.Sub(t.at).Seconds()
	}
	t.arrivals, t.at = arrivals, now
	elapsed := now.Sub(start)
	progress := "done"
	if elapsed < d {
		progress = fmt.Sprintf("%d%%", int(100*elapsed/d))
	}
	after := elapsed >= d
	if after && !force && t.last.Decision != nil && maps.Equal(s.Decision, t.last.Decision) &&
		maps.Equal(s.Spec, t.last.Spec) && maps.Equal(s.Ready, t.last.Ready) {
		return nil
	}
	t.last = s
	ttft := "-"
	if v, ok := st.TTFTp90Seconds[k]; ok {
		ttft = fmt.Sprintf("%.2fs", v)
	}
	l4, a100 := t.vs[0].Name, t.vs[1].Name
	fmt.Fprintf(t.out, "%6s %6s %7.1f | %4d %4d | %4d %4d | %4d %4d | %8s\n", clock(elapsed), progress, rate,
		s.Decision[l4], s.Decision[a100], s.Spec[l4], s.Spec[a100], s.Ready[l4], s.Ready[a100], ttft)
	return nil
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// note says how to look around and how to stop.
func note(out io.Writer, c *localcluster.Cluster, o options, tab *table) {
	kubectl := "kubectl"
	if _, err := exec.LookPath("kubectl"); err != nil {
		kubectl = "kubectl (not on PATH here; any kubectl works)"
	}
	fmt.Fprintf(out, `
The trace is over and the load stopped; WVA scales the variants down to their minimum after its
scale-down stabilisation (%s). Everything keeps running; from another shell:

  export KUBECONFIG=%s
  %s get va -n %s                  # WVA's VariantAutoscalings (-o yaml: decision, conditions)
  kubectl get deploy,pods -n %s -o wide
  kubectl get events -n %s --field-selector reason=DesiredReplicasChanged
  Prometheus UI: %s  (e.g. vllm:num_requests_waiting, vllm:kv_cache_usage_perc, wva_desired_replicas)
  logs: %s/{wva-manager,vllm-emulator,kube-apiserver,...}.log

Stop with Ctrl-C (or kill -TERM %d): it stops every process the demo started and removes the
network namespace %s. A row follows whenever the replicas change.
`, o.stabilization, c.AdminKubeconfig(), kubectl, namespace, namespace, namespace, c.PrometheusURL(),
		filepath.Join(c.Config().StateDir, "logs"), os.Getpid(), c.Config().Network.Namespace)
	tab.header()
}

// emptiable fails unless dir is missing, empty, or a local cluster's state directory (it has
// pki/): the demo empties it at start.
func emptiable(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return nil
	}
	if fi, err := os.Stat(filepath.Join(dir, "pki")); err == nil && fi.IsDir() {
		return nil
	}
	return fmt.Errorf("--state-dir %s is not empty and holds no local cluster (no pki/); refusing to empty it", dir)
}
