package scale

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Kinds of API request the proxy counts.
const (
	reqStatusWrite = "status-write" // PATCH/PUT of a VariantAutoscaling's status
	reqScaleWrite  = "scale-write"  // PATCH/PUT of a Deployment's scale subresource or of the Deployment
	reqDeployRead  = "deploy-read"  // uncached GET of a Deployment or its scale subresource
	reqOther       = "other"
)

// apiRequest is one request the manager sent to the API server.
type apiRequest struct {
	at   time.Time
	kind string
	ns   string
	name string // the object's name for the counted kinds
}

// countingProxy is a plain-HTTP reverse proxy in front of the API server, authenticating
// upstream with the envtest admin's credentials, that records every request of the manager.
type countingProxy struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []apiRequest
}

func newCountingProxy(cfg *rest.Config) (*countingProxy, error) {
	upstream, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	p := &countingProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Host = upstream.Host
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

func (p *countingProxy) close() { p.srv.Close() }

// classifyRequest names the kind of request and its object from method and path, e.g.
// /apis/llmd.ai/v1alpha1/namespaces/ns/variantautoscalings/name/status.
func classifyRequest(method, path string) (kind, ns, name string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// Find "namespaces/<ns>/<resource>/<name>[/<sub>]".
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] != "namespaces" {
			continue
		}
		ns, resource, name := parts[i+1], parts[i+2], parts[i+3]
		sub := ""
		if i+4 < len(parts) {
			sub = parts[i+4]
		}
		write := method == http.MethodPatch || method == http.MethodPut
		switch {
		case resource == "variantautoscalings" && sub == "status" && write:
			return reqStatusWrite, ns, name
		case resource == "deployments" && (sub == "scale" || sub == "") && write:
			return reqScaleWrite, ns, name
		case resource == "deployments" && (sub == "scale" || sub == "") && method == http.MethodGet:
			return reqDeployRead, ns, name
		}
		return reqOther, ns, name
	}
	return reqOther, "", ""
}

func (p *countingProxy) record(r *http.Request) {
	kind, ns, name := classifyRequest(r.Method, r.URL.Path)
	if r.URL.Query().Get("watch") == "true" {
		kind = reqOther
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, apiRequest{at: time.Now(), kind: kind, ns: ns, name: name})
	p.mu.Unlock()
}

// snapshot returns a copy of the requests recorded so far.
func (p *countingProxy) snapshot() []apiRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]apiRequest(nil), p.reqs...)
}
