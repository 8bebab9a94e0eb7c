package scale

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// Environment of the harness (the Makefile's bench-scale target sets them).
const (
	envEnable   = "WVA_BENCH_SCALE"    // "1" runs the harness
	envN        = "WVA_BENCH_N"        // number of variants (default 1000)
	envInterval = "WVA_BENCH_INTERVAL" // GLOBAL_OPT_INTERVAL (default: the manager's default, unset)
	envOut      = "WVA_BENCH_OUT"      // directory for the manager's log (default: a temp dir)
	envScrape   = "WVA_BENCH_SCRAPE"   // the fake Prometheus's scrape interval (default 15s; 0 sees changes at once)
	envPprof    = "WVA_BENCH_PPROF"    // a duration: profile the manager's CPU that long in the steady phase (cpu-steady.pprof in the out dir)
)

const (
	namespaces       = 4
	variantsPerModel = 5
	// steadyCycles is the number of cycles with unchanged load whose writes are counted.
	steadyCycles = 3
	// defaultInterval is the manager's default GLOBAL_OPT_INTERVAL.
	defaultInterval = config.DefaultOptimizationInterval
	// defaultScrape is the scrape interval the step latency target is stated for (issue 13).
	defaultScrape = 15 * time.Second
)

// TestScale is the harness. See docs/scale.md, "The scale harness".
func TestScale(t *testing.T) {
	if testing.Short() || os.Getenv(envEnable) != "1" {
		t.Skipf("the scale harness runs with %s=1 (make bench-scale)", envEnable)
	}
	// The harness's own informer cache logs through controller-runtime; its messages are not
	// part of the report (the manager logs to its own file).
	ctrllog.SetLogger(logr.Discard())
	n := 1000
	if v := os.Getenv(envN); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < variantsPerModel {
			t.Fatalf("%s=%q: want an integer of at least %d", envN, v, variantsPerModel)
		}
	}
	interval := defaultInterval
	intervalSetting := ""
	if v := os.Getenv(envInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", envInterval, v, err)
		}
		interval, intervalSetting = d, v
	}
	scrape := defaultScrape
	if v := os.Getenv(envScrape); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			t.Fatalf("%s=%q: want a duration of at least 0", envScrape, v)
		}
		scrape = d
	}
	outDir := os.Getenv(envOut)
	if outDir == "" {
		outDir = t.TempDir()
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Build the manager first: it takes the longest when the build cache is cold.
	manager := filepath.Join(outDir, "manager")
	build := exec.Command("go", "build", "-o", manager, "./cmd/manager")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/manager: %v\n%s", err, out)
	}

	env, cfg, err := testutil.StartEnv(filepath.Join("..", "..", "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = wvav1alpha1.AddToScheme(scheme)
	setupCfg := rest.CopyConfig(cfg)
	setupCfg.QPS, setupCfg.Burst = 1000, 2000
	c, err := client.New(setupCfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	setupStart := time.Now()
	pods, models := createFleet(ctx, t, c, n)
	t.Logf("created %d VariantAutoscalings, Deployments and pods (%d models, %d namespaces) in %s",
		n, len(models), namespaces, time.Since(setupStart).Round(time.Second))

	prom := newFakeProm(pods, scrape)
	defer prom.close()
	proxy, err := newCountingProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.close()
	cmData := map[string]string{"PROMETHEUS_BASE_URL": prom.srv.URL}
	if intervalSetting != "" {
		cmData["GLOBAL_OPT_INTERVAL"] = intervalSetting
	}
	mustCreate(ctx, t, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wva-config", Namespace: "wva-system"}, Data: cmData})
	mustCreate(ctx, t, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "saturation-scaling-config", Namespace: "wva-system"},
		Data: map[string]string{"default": "kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n"}})

	kubeconfig := filepath.Join(outDir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: %q}}]
users: [{name: bench, user: {}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
`, proxy.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := freeAddr(t)
	logPath := filepath.Join(outDir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logFile.Close() }()
	args := []string{"--kubeconfig", kubeconfig, "--metrics-bind-address", metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address", "0", "--prometheus-allow-http", "--leader-elect=false"}
	var profileFor time.Duration
	pprofAddr := ""
	if v := os.Getenv(envPprof); v != "" {
		if profileFor, err = time.ParseDuration(v); err != nil || profileFor < time.Second {
			t.Fatalf("%s=%q: want a duration of 1s or more", envPprof, v)
		}
		pprofAddr = freeAddr(t)
		args = append(args, "--pprof-bind-address", pprofAddr)
	}
	cmd := exec.Command(manager, args...)
	cmd.Env = append(os.Environ(), "POD_NAMESPACE=wva-system", "CONFIG_MAP_NAME=wva-config",
		"SATURATION_CONFIG_MAP_NAME=saturation-scaling-config", "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the manager exits, waitErr then holds its exit status.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stopManager := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	defer stopManager()
	t.Logf("manager pid %d, log %s, metrics http://%s/metrics", cmd.Process.Pid, logPath, metricsAddr)

	mon := newMonitor(cmd.Process.Pid, "http://"+metricsAddr+"/metrics?"+url.Values{"name[]": monitoredMetrics}.Encode(), pollPeriodFor(n))
	monCtx, stopMon := context.WithCancel(ctx)
	var monDone sync.WaitGroup
	monDone.Go(func() { mon.run(monCtx) })
	defer func() { stopMon(); monDone.Wait() }()

	fail := func(format string, args ...any) {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("manager exited (%v); see %s\n"+format, append([]any{waitErr, logPath}, args...)...)
		default:
		}
		t.Fatalf(format+" (manager log %s)", append(args, logPath)...)
	}

	// Phase 1: every VariantAutoscaling decided.
	vaCache, err := cache.New(setupCfg, cache.Options{Scheme: scheme, ByObject: map[client.Object]cache.ByObject{
		&wvav1alpha1.VariantAutoscaling{}: {}}})
	if err != nil {
		fail("VariantAutoscaling cache: %v", err)
	}
	if _, err := vaCache.GetInformer(ctx, &wvav1alpha1.VariantAutoscaling{}); err != nil {
		fail("VariantAutoscaling informer: %v", err)
	}
	go func() { _ = vaCache.Start(ctx) }()
	if !vaCache.WaitForCacheSync(ctx) {
		fail("the VariantAutoscaling cache did not sync")
	}
	decidedAt, err := waitAllDecided(ctx, vaCache, n, 10*time.Minute, exited)
	if err != nil {
		fail("%v", err)
	}
	toDecided := decidedAt.Sub(started)
	t.Logf("all %d VariantAutoscalings decided %s after the manager started", n, toDecided.Round(100*time.Millisecond))

	// Phase 2: steady cycles, nothing changes. The period of the cycle under way may still hold
	// the last decisions' writes (see buildReport), so one more cycle is waited for.
	if pprofAddr != "" {
		path := filepath.Join(outDir, "cpu-steady.pprof")
		if err := fetchProfile(ctx, "http://"+pprofAddr, profileFor, path); err != nil {
			fail("CPU profile: %v", err)
		}
		t.Logf("CPU profile of %s of steady cycles: %s (go tool pprof -top %s %s)", profileFor, path, manager, path)
	}
	if err := mon.waitCycles(ctx, mon.cycleCount()+steadyCycles+2, time.Duration(steadyCycles+3)*interval+2*time.Minute, exited); err != nil {
		fail("steady cycles: %v", err)
	}

	// Phase 3: a load step on a tenth of the models; time to the first scale write of each.
	stepped := models[:max(1, len(models)/10)]
	// The models are stepped one after another over one interval, so that the steps fall at
	// every phase of the cycle (and of the scrape).
	time.Sleep(time.Duration(time.Now().UnixNano() % int64(interval)))
	stepAt := time.Now()
	stepTimes := make(map[string]time.Time, len(stepped))
	for i, m := range stepped {
		time.Sleep(time.Until(stepAt.Add(time.Duration(int64(interval) * int64(i) / int64(len(stepped))))))
		stepTimes[m] = time.Now()
		prom.setLoad(m, highLoad)
	}
	firstWrites := waitStepWrites(ctx, proxy, pods, stepTimes, stepAt, 4*interval+scrape+time.Minute, exited)
	// Each latency splits into the scrape's share (step → the first scrape that shows it) and
	// the manager's (that scrape → the write).
	var stepLat, afterScrape []time.Duration
	for m, at := range firstWrites {
		stepLat = append(stepLat, at.Sub(stepTimes[m]))
		afterScrape = append(afterScrape, at.Sub(prom.visibleAt(m, stepTimes[m])))
	}
	slices.Sort(stepLat)
	slices.Sort(afterScrape)
	missed := len(stepped) - len(firstWrites)
	stepDone := time.Now()
	// One more cycle so the step's cycle is closed off in the per-cycle counts.
	_ = mon.waitCycles(ctx, mon.cycleCount()+1, interval+time.Minute, exited)

	if avail, err := metricsAvailable(ctx, c); err != nil {
		t.Errorf("listing VariantAutoscalings: %v", err)
	} else if avail != n {
		t.Errorf("MetricsAvailable is True on %d of %d VariantAutoscalings: the fake Prometheus does not answer as the collector expects", avail, n)
	}
	rss, rssErr := peakRSS(cmd.Process.Pid)
	if rssErr != nil {
		t.Errorf("reading the manager's peak RSS: %v", rssErr)
	}
	stopMon()
	monDone.Wait()

	rep := buildReport(n, interval, started, decidedAt, stepAt, stepDone, stepLat, missed, len(stepped), rss, mon, proxy.snapshot())
	rep.afterScrape = afterScrape
	rep.print(t)
	if dir := os.Getenv(envOut); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("report-%d.txt", n)), []byte(rep.text()), 0o644)
	}
	checkThresholds(t, rep)
}

// createFleet creates the namespaces and n variants (Direct mode, bounds 1..10, five per model
// with costs 1..5, spread over the namespaces), each with its Deployment and one ready pod.
// fetchProfile saves a CPU profile of the given length from the manager's pprof server.
func fetchProfile(ctx context.Context, base string, d time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

func createFleet(ctx context.Context, t *testing.T, c client.Client, n int) ([]benchPod, []string) {
	for _, ns := range append([]string{"wva-system"}, nsNames()...) {
		mustCreate(ctx, t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	pods := make([]benchPod, n)
	var models []string
	for i := range n {
		if i%variantsPerModel == 0 {
			models = append(models, modelOf(i))
		}
	}
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				ns, name, model := nsNames()[(i/variantsPerModel)%namespaces], fmt.Sprintf("vllm-%05d", i), modelOf(i)
				dep := testutil.Deployment(name).Namespace(ns).Obj()
				va := testutil.VariantAutoscaling(name).Namespace(ns).Model(model).Cost(strconv.Itoa(1+i%variantsPerModel)).
					Bounds(1, 10).Direct().Obj()
				rs := name + "-" + testutil.ReplicaSetHash
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: rs + "-0", Namespace: ns, Labels: dep.Spec.Selector.MatchLabels},
					Spec: *dep.Spec.Template.Spec.DeepCopy()}
				err := c.Create(ctx, dep)
				if err == nil {
					err = testutil.CreatePod(ctx, c, pod, rs, true)
				}
				if err == nil {
					err = c.Create(ctx, va)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("variant %d: %w", i, err):
					default:
					}
					continue
				}
				pods[i] = benchPod{namespace: ns, name: pod.Name, model: model}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return pods, models
}

// A model's variants share a namespace, as they must to share the model's per-model series.
func modelOf(i int) string { return "org/model-" + strconv.Itoa(i/variantsPerModel) }

func nsNames() []string {
	out := make([]string, namespaces)
	for i := range out {
		out[i] = "team-" + strconv.Itoa(i)
	}
	return out
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// waitAllDecided polls the VariantAutoscalings every second (in r, the harness's own informer
// cache on the API server, not through the proxy: a list of 10,000 from the API server every
// second would load it more than the manager does) until every one has a decision in
// status.optimizedAlloc; it returns when the poll saw it.
func waitAllDecided(ctx context.Context, c client.Reader, n int, timeout time.Duration, exited <-chan struct{}) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := 0
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return time.Time{}, errors.New("manager exited")
		default:
		}
		var list wvav1alpha1.VariantAutoscalingList
		if err := c.List(ctx, &list); err != nil {
			return time.Time{}, err
		}
		decided := 0
		for i := range list.Items {
			if !list.Items[i].Status.OptimizedAlloc.LastUpdateTime.IsZero() {
				decided++
			}
		}
		if decided == n {
			return time.Now(), nil
		}
		last = decided
		time.Sleep(time.Second)
	}
	return time.Time{}, fmt.Errorf("%d of %d VariantAutoscalings decided after %s", last, n, timeout)
}

// waitStepWrites waits until every stepped model has a scale write to one of its Deployments
// after its step (stepped: the models and when each was stepped, none before stepAt), and
// returns each model's first write after its step (none for a model without).
func waitStepWrites(ctx context.Context, proxy *countingProxy, pods []benchPod, stepped map[string]time.Time, stepAt time.Time,
	timeout time.Duration, exited <-chan struct{}) map[string]time.Time {
	modelOfDeploy := map[string]string{}
	for _, p := range pods {
		if _, ok := stepped[p.model]; ok {
			modelOfDeploy[p.namespace+"/"+strings.TrimSuffix(p.name, "-"+testutil.ReplicaSetHash+"-0")] = p.model
		}
	}
	deadline := stepAt.Add(timeout)
	for {
		first := map[string]time.Time{}
		for _, r := range proxy.snapshot() {
			if r.kind != reqScaleWrite {
				continue
			}
			if m, ok := modelOfDeploy[r.ns+"/"+r.name]; ok && !r.at.Before(stepped[m]) {
				if _, seen := first[m]; !seen {
					first[m] = r.at
				}
			}
		}
		done := len(first) == len(stepped)
		select {
		case <-exited:
			done = true
		case <-ctx.Done():
			done = true
		default:
		}
		if done || time.Now().After(deadline) {
			return first
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// peakRSS is the process's VmHWM from /proc.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// processCPU is the CPU time (user + system) of pid from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	// Fields after the command: state(0) ... utime(11) stime(12), in clock ticks (USER_HZ = 100).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// cycleEnd is one engine cycle as seen on the metrics endpoint.
type cycleEnd struct {
	at       time.Time     // when the poll first saw the cycle's histogram observation
	duration time.Duration // the cycle's wall time (the histogram's sum delta)
	cpu      time.Duration // process CPU at that moment
}

// pollPeriodFor is how often the monitor polls the manager's metrics endpoint and CPU: a cycle's
// end is seen up to this late. The scrapes cost the manager CPU (its registry holds series per
// variant): at 250 ms they were a visible part of the CPU per cycle period at 1k variants, and
// at 10k a poll every second was 61 % of the manager's CPU in steady cycles (a profile: the
// registry's Gather sorts every family's series, about 0.5 s of CPU a scrape, whatever the
// name[] filter, which saves only the encoding).
//
// At n variants it is 1 s up to 2,000, then a second per 2,000: 5 s at 10,000, where a poll
// may see two cycle ends (3 s apart), which share its duration sum. A Prometheus scrapes the
// manager every 15-30 s.
func pollPeriodFor(n int) time.Duration {
	return max(time.Second, time.Duration(n/2000)*time.Second)
}

// monitoredMetrics are the metric families the monitor reads (the name[] filter of its polls).
var monitoredMetrics = []string{"wva_engine_cycle_duration_seconds", "wva_engine_trigger_deferred_total",
	"wva_engine_trigger_pending", "wva_engine_trigger_requests_total", "workqueue_depth"}

// monitor polls the manager's metrics endpoint and CPU every period.
type monitor struct {
	pid    int
	url    string
	period time.Duration

	mu          sync.Mutex
	cycles      []cycleEnd
	lastCount   float64
	lastSum     float64
	deferred    float64
	maxPending  float64
	requests    float64 // wva_engine_trigger_requests_total, both reasons
	maxQueue    float64 // the most keys seen in the controllers' work queues (workqueue_depth)
	scrapeError error
}

func newMonitor(pid int, url string, period time.Duration) *monitor {
	return &monitor{pid: pid, url: url, period: period}
}

func (m *monitor) run(ctx context.Context) {
	tick := time.NewTicker(m.period)
	defer tick.Stop()
	hc := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		vals, err := scrapeMetrics(hc, m.url)
		now := time.Now()
		cpu, _ := processCPU(m.pid)
		m.mu.Lock()
		m.scrapeError = err
		if err == nil {
			count, sum := vals["wva_engine_cycle_duration_seconds_count"], vals["wva_engine_cycle_duration_seconds_sum"]
			if count > m.lastCount {
				// Several cycles between two polls (not expected at intervals of seconds) share the sum.
				k := count - m.lastCount
				for range int(k) {
					m.cycles = append(m.cycles, cycleEnd{at: now, cpu: cpu,
						duration: time.Duration((sum - m.lastSum) / k * float64(time.Second))})
				}
				m.lastCount, m.lastSum = count, sum
			}
			m.deferred = vals["wva_engine_trigger_deferred_total"]
			m.maxPending = max(m.maxPending, vals["wva_engine_trigger_pending"])
			m.requests = vals["wva_engine_trigger_requests_total"]
			m.maxQueue = max(m.maxQueue, vals["workqueue_depth"])
		}
		m.mu.Unlock()
	}
}

func (m *monitor) cycleCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cycles)
}

func (m *monitor) waitCycles(ctx context.Context, count int, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for m.cycleCount() < count {
		if time.Now().After(deadline) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return fmt.Errorf("saw %d engine cycles, want %d, after %s (last scrape error: %v)", len(m.cycles), count, timeout, m.scrapeError)
		}
		select {
		case <-exited:
			return errors.New("manager exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// scrapeMetrics returns the sum over label sets of each sample name of the text exposition (the
// wva_* samples and workqueue_depth).
func scrapeMetrics(hc *http.Client, url string) (map[string]float64, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' || (!strings.HasPrefix(line, "wva_") && !strings.HasPrefix(line, "workqueue_depth")) {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			name = line[:i]
			if j := strings.LastIndexByte(line, '}'); j >= 0 {
				rest = strings.TrimSpace(line[j+1:])
			}
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			// A line cut short (the 5 s client timeout hit a slow manager mid-body at 10,000
			// variants): the whole scrape is discarded, not half of it counted.
			return nil, fmt.Errorf("GET %s: truncated line %q", url, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out, s.Err()
}

// metricsAvailable counts the VariantAutoscalings whose MetricsAvailable condition is True.
func metricsAvailable(ctx context.Context, c client.Client) (int, error) {
	var list wvav1alpha1.VariantAutoscalingList
	if err := c.List(ctx, &list); err != nil {
		return 0, err
	}
	ok := 0
	for i := range list.Items {
		if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, wvav1alpha1.ConditionMetricsAvailable) {
			ok++
		}
	}
	return ok, nil
}
