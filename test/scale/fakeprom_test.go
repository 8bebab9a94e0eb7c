package scale

import (
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// load is what every pod of a model reports.
type load struct{ kv, waiting, running float64 }

var (
	idleLoad = load{kv: 0.4, waiting: 0, running: 4}
	highLoad = load{kv: 0.98, waiting: 12, running: 16}
)

// benchPod is one serving pod as the fake Prometheus reports it.
type benchPod struct{ namespace, name, model string }

// fakeProm answers /api/v1/query as a Prometheus scraping the fleet's vLLM pods would, so that
// the manager decodes what it would decode on a cluster: the five saturation queries of
// BuildQueries (KV usage, waiting, running, newest-sample time, cache geometry) carry one
// series per pod with the labels the collector joins on and the pod's load; the other per-pod
// queries (the slo analyzer's decode and prefill points) one series per pod with value 1; the
// per-model demand queries one series per model with value 1, and the per-model histogram
// queries one series per model and bucket bound (bucketBounds, cumulative counts). Only the
// inference gateway's counter gets an empty vector, as on a cluster without the gateway. The
// load of a model can be changed at any time.
//
// With a scrape interval, each model's pods are scraped at one phase of the interval, a hash
// of the model name (Prometheus spreads its targets over the interval by a hash of their labels;
// one phase per model is the case of a model served by one pod, the slowest to see a step): a
// pod reports the load in effect at its last scrape, and its newest-sample time is that scrape.
// A load change therefore reaches the queries 0 to one scrape interval later.
type fakeProm struct {
	srv    *httptest.Server
	pods   []benchPod
	models []benchPod    // one per (namespace, model), name empty
	scrape time.Duration // 0: every change is seen at once
	origin time.Time

	mu      sync.Mutex
	load    map[string][]loadChange // by model, oldest first; idleLoad before the first
	queries int
}

type loadChange struct {
	at time.Time
	l  load
}

func newFakeProm(pods []benchPod, scrape time.Duration) *fakeProm {
	p := &fakeProm{pods: pods, scrape: scrape, origin: time.Now(), load: map[string][]loadChange{}}
	seen := map[benchPod]bool{}
	for _, pod := range pods {
		if m := (benchPod{namespace: pod.namespace, model: pod.model}); !seen[m] {
			seen[m] = true
			p.models = append(p.models, m)
		}
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

func (p *fakeProm) setLoad(model string, l load) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.load[model] = append(p.load[model], loadChange{at: time.Now(), l: l})
}

// lastScrape is when pod i was last scraped at now.
func (p *fakeProm) lastScrape(i int, now time.Time) time.Time {
	if p.scrape <= 0 {
		return now
	}
	since := now.Sub(p.origin.Add(p.phase(p.pods[i].model)))
	if since < 0 {
		return now // before its first scrape: the harness's start state
	}
	return now.Add(-(since % p.scrape))
}

// phase is the offset in the scrape interval at which model's pods are scraped.
func (p *fakeProm) phase(model string) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(model))
	return time.Duration(h.Sum64() % uint64(p.scrape))
}

// visibleAt is when a load change of model at t reaches the queries: its pods' first scrape
// after t (t itself without a scrape interval).
func (p *fakeProm) visibleAt(model string, t time.Time) time.Time {
	if p.scrape <= 0 {
		return t
	}
	first := p.origin.Add(p.phase(model))
	if t.Before(first) {
		return first
	}
	return t.Add(p.scrape - t.Sub(first)%p.scrape)
}

// loadAt is the load of a model at time at.
func loadAt(changes []loadChange, at time.Time) load {
	l := idleLoad
	for _, c := range changes {
		if c.at.After(at) {
			break
		}
		l = c.l
	}
	return l
}

func (p *fakeProm) close() { p.srv.Close() }

// query kinds, classified from the PromQL text.
const (
	qOther = iota
	qKV
	qWaiting
	qRunning
	qLast
	qBlocks
	qPodOther     // the other per-pod queries (decode and prefill points)
	qModel        // per-model scalars (rates, means, queue)
	qModelBuckets // per-model histograms, by le
)

// bucketBounds are the le values of every per-model histogram answer, about as many as vLLM's
// latency histograms have (its TTFT histogram has about 20 bounds and +Inf).
var bucketBounds = []string{"0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5",
	"0.75", "1", "2.5", "5", "7.5", "10", "20", "40", "80", "160", "640", "+Inf"}

// queryKinds classify a query by the first of these texts it contains.
var queryKinds = []struct {
	text string
	kind int
}{
	{"vllm:cache_config_info", qBlocks},
	{"max_over_time(vllm:kv_cache_usage_perc", qKV},
	{"max_over_time(vllm:num_requests_waiting", qWaiting},
	{"max_over_time(vllm:num_requests_running", qRunning},
	{"timestamp(vllm:num_requests_waiting", qLast},
	{"by (namespace, pod, pod_name, model_name", qPodOther},
	{"by (namespace, model_name, le)", qModelBuckets},
	{"by (namespace, model_name)", qModel},
}

func classify(q string) int {
	for _, k := range queryKinds {
		if strings.Contains(q, k.text) {
			return k.kind
		}
	}
	return qOther
}

func (p *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	kind := classify(r.Form.Get("query"))
	p.mu.Lock()
	p.queries++
	loads := make(map[string][]loadChange, len(p.load))
	for k, v := range p.load {
		loads[k] = v
	}
	p.mu.Unlock()

	// The body is written by hand: a real Prometheus runs on other machines, and encoding/json
	// over maps took the harness a few hundred milliseconds of the shared cores per cycle at
	// 10,000 pods, time the manager's cycle then waited for.
	ts := strconv.AppendFloat(nil, float64(now.UnixMilli())/1000, 'f', -1, 64)
	b := make([]byte, 0, 64+len(p.pods)*160)
	b = append(b, `{"status":"success","data":{"resultType":"vector","result":[`...)
	switch kind {
	case qModel, qModelBuckets:
		b = p.appendModelSeries(b, kind == qModelBuckets, ts)
	case qOther:
	default:
		for i, pod := range p.pods {
			scraped := p.lastScrape(i, now)
			l := loadAt(loads[pod.model], scraped)
			var v float64
			switch kind {
			case qKV:
				v = l.kv
			case qWaiting:
				v = l.waiting
			case qRunning:
				v = l.running
			case qLast:
				last := scraped
				if p.scrape <= 0 {
					last = now.Add(-5 * time.Second)
				}
				v = float64(last.Unix())
			case qBlocks, qPodOther:
				v = 1
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":{"namespace":`...)
			b = strconv.AppendQuote(b, pod.namespace)
			b = append(b, `,"pod":`...)
			b = strconv.AppendQuote(b, pod.name)
			if kind == qBlocks {
				b = append(b, `,"engine":"0","num_gpu_blocks":"8192","block_size":"16"`...)
			} else {
				b = append(b, `,"model_name":`...)
				b = strconv.AppendQuote(b, pod.model)
			}
			b = append(b, `},"value":[`...)
			b = append(b, ts...)
			b = append(b, `,"`...)
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
			b = append(b, `"]}`...)
		}
	}
	b = append(b, "]}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// appendModelSeries appends one series per model with value 1, or with buckets one per model
// and bound (every count 1: each request in the first bucket).
func (p *fakeProm) appendModelSeries(b []byte, buckets bool, ts []byte) []byte {
	les := []string{""}
	if buckets {
		les = bucketBounds
	}
	first := true
	for _, m := range p.models {
		for _, le := range les {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"metric":{"namespace":`...)
			b = strconv.AppendQuote(b, m.namespace)
			b = append(b, `,"model_name":`...)
			b = strconv.AppendQuote(b, m.model)
			if le != "" {
				b = append(b, `,"le":`...)
				b = strconv.AppendQuote(b, le)
			}
			b = append(b, `},"value":[`...)
			b = append(b, ts...)
			b = append(b, `,"1"]}`...)
		}
	}
	return b
}
