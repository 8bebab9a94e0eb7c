package promsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// The package's integration tests share one envtest control plane, one informer cache (the
// Source's reader, as in the manager) and one Prometheus scraping one fake vLLM /metrics server
// per scenario, so each test owns its exposition and its namespaces.
var (
	k8sClient  client.Client // writes, straight to the API server
	restConfig *rest.Config  // for tests that build caches of their own
	podCache   cache.Cache   // reads, as the manager's cached client does
	prom       *testutil.Prometheus
	promAPI    QueryAPI // the client NewAPI builds, for prom
	servers    = map[string]*testutil.MetricsServer{}
)

// scenarios names the metrics servers started in TestMain.
var scenarios = []string{"join", "partial", "stopped", "stale", "hostile", "demand", "fromzero"}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	tb := &mainTB{}
	defer tb.cleanup()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "test setup failed:", r)
			code = 1
		}
	}()

	log.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	if reason, skip := testutil.EnvNotNeeded(); skip {
		fmt.Fprintln(os.Stderr, reason)
		return m.Run() // the benchmarks that need the control plane skip themselves
	}
	start := time.Now()
	env, cfg, err := testutil.StartEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	restConfig = cfg
	tb.Cleanup(func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	if podCache, err = cache.New(cfg, cache.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	go func() { _ = podCache.Start(ctx) }()
	if !podCache.WaitForCacheSync(ctx) {
		panic("informer cache did not sync")
	}
	envReady := time.Since(start)

	var addrs []string
	for _, name := range scenarios {
		servers[name] = testutil.StartMetricsServer(tb, "")
		addrs = append(addrs, servers[name].Addr)
	}
	prom = testutil.StartPrometheus(tb, addrs...)
	if promAPI, err = NewAPI(Config{BaseURL: prom.URL, AllowHTTP: true}); err != nil {
		panic(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if _, err := prom.WaitFor(wctx, `sum(up)`, func(v model.Vector) bool {
		return len(v) == 1 && int(v[0].Value) == len(scenarios)
	}); err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "setup: envtest and cache in %s, Prometheus scraping %d targets after %s\n",
		envReady.Round(time.Millisecond), len(scenarios), time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// mainTB lets TestMain use the testutil helpers that take a testing.TB, so the servers live for
// the whole package run: cleanups run when TestMain returns, Fatalf panics (recovered by
// runMain). Methods the helpers do not call are left to the nil embedded TB and would panic.
type mainTB struct {
	testing.TB
	cleanups []func()
	dirs     []string
}

func (*mainTB) Helper()      {}
func (*mainTB) Name() string { return "TestMain" }

func (tb *mainTB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }

func (tb *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "promsource-test-")
	if err != nil {
		panic(err)
	}
	tb.dirs = append(tb.dirs, dir)
	return dir
}

func (*mainTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "setup: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

func (*mainTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (*mainTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func (*mainTB) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (tb *mainTB) cleanup() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	for _, d := range tb.dirs {
		_ = os.RemoveAll(filepath.Clean(d))
	}
}
