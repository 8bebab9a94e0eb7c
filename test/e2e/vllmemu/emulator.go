// Package vllmemu emulates the vLLM servers of every kwok pod: one listener inside the cluster's
// network namespace answers for every pod IP (AnyIP route) with that pod's vLLM metrics, from
// the simulator's replica model (sim.Server) advanced in real time and the simulator's
// exposition code (vllmmetrics). A load generator sends requests (constant Poisson rate or a
// replayed trace) to the Ready pods of a model, least loaded first. Pods opt in with the
// annotations AnnotationProfile and AnnotationModel; a pod that is not Ready answers 503, as
// vLLM's server does while it loads the model.
package vllmemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/vllmmetrics"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
)

// Pod annotations the emulator reads.
const (
	// AnnotationProfile names the sim profile (sim.LookupProfile) of the pod's replica.
	AnnotationProfile = "vllm-emulator.wva.llmd.ai/profile"
	// AnnotationModel is the served model name (the model_name label).
	AnnotationModel = "vllm-emulator.wva.llmd.ai/model"
)

// Options configure Run.
type Options struct {
	Kubeconfig string
	// Netns is the network namespace whose pod IPs the emulator answers for.
	Netns string
	// PodAddress is the metrics listener inside Netns ("0.0.0.0:8000").
	PodAddress string
	// ControlAddress serves the control API on the host: POST /load, GET /stats.
	ControlAddress string
}

// LoadRequest sets the load of one model in one namespace (POST /load). Rate 0 and no Trace
// stop it.
type LoadRequest struct {
	Namespace string `json:"namespace"`
	Model     string `json:"model"`
	// Rate is the Poisson arrival rate in requests per second.
	Rate         float64 `json:"rate,omitempty"`
	InputTokens  int     `json:"inputTokens,omitempty"`
	OutputTokens int     `json:"outputTokens,omitempty"`
	// Trace is a trace file (Azure CSV or Mooncake JSONL) replayed from now, its arrivals
	// multiplied by RateScale (1 when 0).
	Trace     string  `json:"trace,omitempty"`
	RateScale float64 `json:"rateScale,omitempty"`
	Seed      uint64  `json:"seed,omitempty"`
	// SpanSeconds, when positive, replays only the trace's first SpanSeconds seconds.
	SpanSeconds float64 `json:"spanSeconds,omitempty"`
	// Speed, when positive, replays the trace Speed times faster: every arrival time is divided
	// by Speed (after RateScale), so the shape of the load over the trace comes Speed times
	// sooner and its rate is Speed × RateScale times the recorded one.
	Speed float64 `json:"speed,omitempty"`
}

// PodStats is one pod's state (GET /stats).
type PodStats struct {
	Namespace, Name, IP, Model string
	Ready, Deleting            bool
	Running, Waiting           int
	KVCacheUsage               float64
	Finished                   int64
}

// Stats is the emulator's state.
type Stats struct {
	Pods []PodStats
	// Dispatched, Pending (waiting in the router for a Ready pod), Lost (on a pod that went away
	// while serving them) and Finished count requests per namespace/model.
	Dispatched, Pending, Lost, Finished map[string]int
	// TTFTp90Seconds is the 90th percentile TTFT of the requests finished in the last minute.
	TTFTp90Seconds map[string]float64
}

type replica struct {
	ns, name, ip, model string
	profile             sim.Profile
	srv                 *sim.Server
	ready, deleting     bool
	inflight            []*sim.Request
}

type stream struct {
	key    string
	reqs   []workload.Request
	start  time.Duration
	next   int
	cancel bool
}

type emulator struct {
	mu      sync.Mutex
	t0      time.Time
	byIP    map[string]*replica
	streams map[string]*stream
	pending map[string][]*sim.Request
	done    map[string][]*sim.Request
	counts  map[string]map[string]int
	nextID  int
}

func key(ns, model string) string { return ns + "/" + model }

func (e *emulator) now() time.Duration { return time.Since(e.t0) }

// Run serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", o.Kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	e := &emulator{t0: time.Now(), byIP: map[string]*replica{}, streams: map[string]*stream{},
		pending: map[string][]*sim.Request{}, done: map[string][]*sim.Request{},
		counts: map[string]map[string]int{"dispatched": {}, "lost": {}, "finished": {}}}

	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.observe(obj) },
		UpdateFunc: func(_, obj any) { e.observe(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				e.remove(p.Status.PodIP)
			}
		},
	}); err != nil {
		return err
	}
	podL, err := localcluster.ListenInNamespace(o.Netns, o.PodAddress)
	if err != nil {
		return err
	}
	ctlL, err := net.Listen("tcp", o.ControlAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.ControlAddress, err)
	}
	factory.Start(ctx.Done())

	podMux := http.NewServeMux()
	podMux.HandleFunc("/metrics", e.serveMetrics)
	ctlMux := http.NewServeMux()
	ctlMux.HandleFunc("/load", e.serveLoad)
	ctlMux.HandleFunc("/stats", e.serveStats)
	ctlMux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	podSrv := &http.Server{Handler: podMux, ReadHeaderTimeout: 5 * time.Second}
	ctlSrv := &http.Server{Handler: ctlMux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = podSrv.Serve(podL) }()
	go func() { _ = ctlSrv.Serve(ctlL) }()

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = podSrv.Close()
			_ = ctlSrv.Close()
			return nil
		case <-tick.C:
			e.step()
		}
	}
}

// observe tracks a pod's IP and readiness.
func (e *emulator) observe(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.Status.PodIP == "" || p.Annotations[AnnotationProfile] == "" {
		return
	}
	prof, err := sim.LookupProfile(p.Annotations[AnnotationProfile])
	if err != nil {
		return
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.byIP[p.Status.PodIP]
	if r == nil || r.name != p.Name || r.ns != p.Namespace {
		model := p.Annotations[AnnotationModel]
		if model == "" {
			model = prof.Model
		}
		r = &replica{ns: p.Namespace, name: p.Name, ip: p.Status.PodIP, model: model, profile: prof,
			srv: sim.NewServer(prof, e.now())}
		e.byIP[p.Status.PodIP] = r
	}
	r.ready = ready && p.DeletionTimestamp == nil
	r.deleting = p.DeletionTimestamp != nil
}

func (e *emulator) remove(ip string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.byIP[ip]
	if r == nil {
		return
	}
	r.srv.AdvanceTo(e.now())
	for _, q := range r.inflight {
		if q.Finished < 0 {
			e.counts["lost"][key(r.ns, r.model)]++
		}
	}
	delete(e.byIP, ip)
}

// step advances every replica to now, dispatches due arrivals and collects finished requests.
func (e *emulator) step() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for _, s := range e.streams {
		for s.next < len(s.reqs) && s.start+s.reqs[s.next].Arrival <= now {
			w := s.reqs[s.next]
			w.Arrival += s.start
			e.nextID++
			e.pending[s.key] = append(e.pending[s.key], sim.NewRequest(e.nextID, w))
			s.next++
		}
	}
	for k, q := range e.pending {
		for len(q) > 0 {
			r := e.pick(k)
			if r == nil {
				break
			}
			r.srv.AdvanceTo(now)
			r.srv.Enqueue(q[0], now)
			r.inflight = append(r.inflight, q[0])
			e.counts["dispatched"][k]++
			q = q[1:]
		}
		e.pending[k] = q
	}
	for _, r := range e.byIP {
		r.srv.AdvanceTo(now)
		kept := r.inflight[:0]
		for _, q := range r.inflight {
			if q.Finished >= 0 || q.Rejected {
				e.counts["finished"][key(r.ns, r.model)]++
				d := append(e.done[key(r.ns, r.model)], q)
				// Keep one minute of finished requests for the TTFT percentile.
				for len(d) > 0 && d[0].Finished < now-time.Minute {
					d = d[1:]
				}
				e.done[key(r.ns, r.model)] = d
				continue
			}
			kept = append(kept, q)
		}
		r.inflight = kept
	}
}

// pick returns the least loaded Ready replica serving k.
func (e *emulator) pick(k string) *replica {
	var best *replica
	for _, r := range e.byIP {
		if !r.ready || key(r.ns, r.model) != k {
			continue
		}
		if best == nil || r.srv.Load() < best.srv.Load() || (r.srv.Load() == best.srv.Load() && r.name < best.name) {
			best = r
		}
	}
	return best
}

func (e *emulator) serveMetrics(w http.ResponseWriter, req *http.Request) {
	addr, _ := req.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host := ""
	if addr != nil {
		host, _, _ = net.SplitHostPort(addr.String())
	}
	e.mu.Lock()
	r := e.byIP[host]
	var text []byte
	var err error
	if r != nil && r.ready {
		r.srv.AdvanceTo(e.now())
		m := sim.ReplicaMetrics{Name: r.name, Gauges: r.srv.Gauges(), Counters: r.srv.Counters(), Histograms: r.srv.Histograms()}
		var exp *vllmmetrics.Exposition
		exp, err = vllmmetrics.NewExposition(vllmmetrics.New(r.model, r.profile.KVCacheTokens, func() sim.ReplicaMetrics { return m }))
		if err == nil {
			text, err = exp.Text()
		}
	}
	e.mu.Unlock()
	switch {
	case r == nil:
		http.Error(w, "no emulated pod has IP "+host, http.StatusNotFound)
	case !r.ready:
		http.Error(w, "model loading", http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", string(vllmmetrics.TextFormat))
		_, _ = w.Write(text)
	}
}

func (e *emulator) serveLoad(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a LoadRequest", http.StatusMethodNotAllowed)
		return
	}
	var lr LoadRequest
	if err := json.NewDecoder(req.Body).Decode(&lr); err != nil {
		http.Error(w, "decoding the load request: "+err.Error(), http.StatusBadRequest)
		return
	}
	reqs, err := lr.stream()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k := key(lr.Namespace, lr.Model)
	e.mu.Lock()
	if reqs == nil {
		delete(e.streams, k)
	} else {
		e.streams[k] = &stream{key: k, reqs: reqs, start: e.now()}
	}
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// stream returns the request stream of lr, nil to stop.
func (lr LoadRequest) stream() ([]workload.Request, error) {
	if lr.Namespace == "" || lr.Model == "" {
		return nil, fmt.Errorf("namespace and model are required")
	}
	if lr.Trace != "" {
		if lr.SpanSeconds < 0 || lr.Speed < 0 || lr.RateScale < 0 {
			return nil, fmt.Errorf("spanSeconds, speed and rateScale must not be negative")
		}
		reqs, err := workload.Load(lr.Trace, workload.FormatAuto)
		if err != nil {
			return nil, err
		}
		if lr.SpanSeconds > 0 {
			reqs = workload.Window(reqs, 0, time.Duration(lr.SpanSeconds*float64(time.Second)))
		}
		if lr.RateScale > 0 && lr.RateScale != 1 {
			if reqs, err = workload.Scale(reqs, lr.RateScale, lr.Seed, 0); err != nil {
				return nil, err
			}
		} else {
			reqs = append([]workload.Request(nil), reqs...)
		}
		if lr.Speed > 0 && lr.Speed != 1 {
			for i := range reqs {
				reqs[i].Arrival = time.Duration(float64(reqs[i].Arrival) / lr.Speed)
			}
		}
		return reqs, nil
	}
	if lr.Rate <= 0 {
		return nil, nil
	}
	in, out := max(lr.InputTokens, 1), max(lr.OutputTokens, 1)
	return workload.Poisson(workload.Steady(lr.Rate, 6*time.Hour), workload.FixedTokens(in, out), lr.Seed)
}

func (e *emulator) serveStats(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	st := Stats{Dispatched: map[string]int{}, Pending: map[string]int{}, Lost: map[string]int{}, Finished: map[string]int{},
		TTFTp90Seconds: map[string]float64{}}
	for _, r := range e.byIP {
		g := r.srv.Gauges()
		st.Pods = append(st.Pods, PodStats{Namespace: r.ns, Name: r.name, IP: r.ip, Model: r.model, Ready: r.ready,
			Deleting: r.deleting, Running: g.Running, Waiting: g.Waiting, KVCacheUsage: g.KVCacheUsage,
			Finished: r.srv.Counters().RequestSuccess})
	}
	for k, v := range e.counts["dispatched"] {
		st.Dispatched[k] = v
	}
	for k, v := range e.counts["lost"] {
		st.Lost[k] = v
	}
	for k, v := range e.counts["finished"] {
		st.Finished[k] = v
	}
	for k, q := range e.pending {
		st.Pending[k] = len(q)
	}
	for k, d := range e.done {
		var ttfts []float64
		for _, q := range d {
			if q.FirstToken >= 0 {
				ttfts = append(ttfts, q.TTFT().Seconds())
			}
		}
		if len(ttfts) > 0 {
			sort.Float64s(ttfts)
			st.TTFTp90Seconds[k] = ttfts[(len(ttfts)*9)/10]
		}
	}
	e.mu.Unlock()
	sort.Slice(st.Pods, func(i, j int) bool { return st.Pods[i].Name < st.Pods[j].Name })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}
