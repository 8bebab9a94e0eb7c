package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

const (
	// debianPrometheus is where the Debian package installs the server.
	debianPrometheus = "/usr/bin/prometheus"
	// PrometheusJob is the scrape job name StartPrometheus configures; series
	// scraped from its targets carry job="vllm".
	PrometheusJob = "vllm"

	prometheusReadyTimeout = 30 * time.Second
	prometheusPollInterval = 100 * time.Millisecond
	prometheusStartTries   = 3
)

// Prometheus is a private Prometheus server started by StartPrometheus.
type Prometheus struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// API is a query client for URL.
	API promv1.API

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has been waited for
	logPath  string
	stopOnce sync.Once
}

// StartPrometheus starts the prometheus binary (the Debian package's
// /usr/bin/prometheus, else prometheus on PATH) with a temporary config that
// scrapes the given host:port targets every second under job "vllm" with
// honor_labels (so namespace/pod labels from the exposition are kept; Prometheus
// adds instance and job). Storage and config live in t.TempDir(). It returns
// once /-/ready answers and registers Stop with t.Cleanup.
//
// It calls t.Fatalf if the binary is missing (run hack/install-prometheus.sh)
// or the server does not become ready; call it from the test goroutine.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin, err := prometheusBinary()
	if err != nil {
		t.Fatalf("%v", err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(prometheusConfig(targets)), 0o644); err != nil {
		t.Fatalf("writing prometheus config: %v", err)
	}

	start := time.Now()
	// The free port is picked by closing a listener, so another process can
	// grab it before prometheus binds; retry on "address already in use".
	for attempt := 1; ; attempt++ {
		p, err := startPrometheus(bin, cfgPath, filepath.Join(dir, fmt.Sprintf("run-%d", attempt)))
		if err == nil {
			t.Cleanup(p.Stop)
			t.Logf("prometheus %s ready in %s (targets %v)", p.URL, time.Since(start).Round(time.Millisecond), targets)
			return p
		}
		if attempt < prometheusStartTries && errors.Is(err, errAddrInUse) {
			continue
		}
		t.Fatalf("starting prometheus: %v", err)
	}
}

var errAddrInUse = errors.New("address already in use")

func prometheusBinary() (string, error) {
	if _, err := os.Stat(debianPrometheus); err == nil {
		return debianPrometheus, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("prometheus binary not found (neither %s nor on PATH): run hack/install-prometheus.sh", debianPrometheus)
}

func prometheusConfig(targets []string) string {
	var b strings.Builder
	b.WriteString(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ` + PrometheusJob + `
    honor_labels: true
    static_configs:
      - targets: [`)
	for i, target := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(target)) // a Go-quoted host:port is a valid YAML double-quoted string
	}
	b.WriteString("]\n")
	return b.String()
}

func startPrometheus(bin, cfgPath, runDir string) (*Prometheus, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(runDir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(runDir, "data"),
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr,
		"--web.enable-lifecycle",
		"--web.max-connections=64",
		"--query.max-concurrency=4",
		"--log.level=info",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	url := "http://" + addr
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	p := &Prometheus{
		URL:     url,
		API:     promv1.NewAPI(client),
		cmd:     cmd,
		exited:  make(chan struct{}),
		logPath: logPath,
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /-/ready until it answers 200, the process exits, or the timeout passes.
func (p *Prometheus) waitReady() error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(prometheusReadyTimeout)
	for {
		resp, err := hc.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			tail := p.logTail()
			err := fmt.Errorf("prometheus exited before becoming ready (%s); log %s:\n%s", p.cmd.ProcessState, p.logPath, tail)
			if strings.Contains(tail, "address already in use") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-time.After(prometheusPollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %s; log %s:\n%s", p.URL, prometheusReadyTimeout, p.logPath, p.logTail())
		}
	}
}

func (p *Prometheus) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	const maxTail = 4096
	if len(b) > maxTail {
		b = b[len(b)-maxTail:]
	}
	return string(b)
}

// Stop kills the server and waits for it to exit. It is idempotent and is
// registered with t.Cleanup by StartPrometheus.
func (p *Prometheus) Stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill() // storage is throwaway: no need for a clean shutdown
		<-p.exited
	})
}

// Query runs an instant query now and returns the result, which must be an instant vector.
func (p *Prometheus) Query(ctx context.Context, query string) (model.Vector, error) {
	v, _, _, err := p.API.Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %q returned a %s, want an instant vector", query, v.Type())
	}
	return vec, nil
}

// WaitFor polls the instant-vector query until done accepts the result, and
// returns that result. On timeout (ctx) it returns the last result and an
// error describing it.
func (p *Prometheus) WaitFor(ctx context.Context, query string, done func(model.Vector) bool) (model.Vector, error) {
	ticker := time.NewTicker(prometheusPollInterval)
	defer ticker.Stop()
	var (
		last    model.Vector
		lastErr error
	)
	for {
		last, lastErr = p.Query(ctx, query)
		if lastErr == nil && done(last) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("waiting for %q: %w (last error: %w)", query, ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("waiting for %q: %w (last result: %v)", query, ctx.Err(), last)
		case <-p.exited:
			return last, fmt.Errorf("waiting for %q: prometheus exited; log %s:\n%s", query, p.logPath, p.logTail())
		case <-ticker.C:
		}
	}
}

// WaitForScrape polls until the instant-vector query returns at least one
// sample, e.g. until the first scrape of a target has landed.
func (p *Prometheus) WaitForScrape(ctx context.Context, query string) (model.Vector, error) {
	return p.WaitFor(ctx, query, func(v model.Vector) bool { return len(v) > 0 })
}

// MetricsServer is an HTTP server on 127.0.0.1 that answers every request
// with a settable Prometheus text exposition, standing in for a vLLM pod's
// /metrics.
type MetricsServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:41235; metrics are served on every path.
	URL string
	// Addr is the host:port to use as a scrape target.
	Addr string

	srv     *httptest.Server
	body    atomic.Pointer[string]
	scrapes atomic.Int64
}

// StartMetricsServer starts a MetricsServer serving body and registers Close
// with t.Cleanup.
func StartMetricsServer(t testing.TB, body string) *MetricsServer {
	t.Helper()
	m := &MetricsServer{}
	m.Set(body)
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		m.scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(*m.body.Load()))
	}))
	m.URL = m.srv.URL
	m.Addr = m.srv.Listener.Addr().String()
	t.Cleanup(m.Close)
	return m
}

// Set replaces the exposition served from now on. A missing final newline is
// added (the text format requires it).
func (m *MetricsServer) Set(body string) {
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	m.body.Store(&body)
}

// Scrapes returns how many requests the server has answered.
func (m *MetricsServer) Scrapes() int64 { return m.scrapes.Load() }

// Close shuts the server down; it is idempotent.
func (m *MetricsServer) Close() { m.srv.Close() }
