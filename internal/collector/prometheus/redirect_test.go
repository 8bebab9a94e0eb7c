package promsource

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/clock"
)

// recordingServer records the Authorization header of every request it receives and answers
// /api/v1/query with an empty vector.
type recordingServer struct {
	srv *httptest.Server

	mu   sync.Mutex
	auth []string
}

func (rs *recordingServer) handle(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	rs.auth = append(rs.auth, r.Header.Get("Authorization"))
	rs.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
}

func (rs *recordingServer) seen() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.auth...)
}

// startRecording starts a plain HTTP (tlsOn false) or HTTPS recording server on 127.0.0.1.
func startRecording(t *testing.T, tlsOn bool) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	if tlsOn {
		rs.srv = httptest.NewTLSServer(http.HandlerFunc(rs.handle))
	} else {
		rs.srv = httptest.NewServer(http.HandlerFunc(rs.handle))
	}
	t.Cleanup(rs.srv.Close)
	return rs
}

// startRedirector starts an HTTPS server that answers every request with a 307 (method and body
// kept, the worst case) to target plus the request's path and query.
func startRedirector(t *testing.T, target func() string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRedirectToAnotherOriginIsRefused: a Prometheus (or something in front of it) redirecting
// to another origin, plain http or another https host, must neither receive the bearer token
// nor be followed; the query fails naming the refused redirect.
func TestRedirectToAnotherOriginIsRefused(t *testing.T) {
	cases := map[string]struct{ tlsTarget bool }{
		"https to plain http":                     {tlsTarget: false},
		"https to https on another host and port": {tlsTarget: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target := startRecording(t, tc.tlsTarget)
			redirector := startRedirector(t, func() string { return target.srv.URL })
			// httptest's TLS servers share one certificate, so this CA trusts both servers.
			cfg := Config{BaseURL: redirector.URL, CACertPath: caFile(t, redirector), BearerToken: "sa-token"}
			err := query(t, cfg)
			if err == nil {
				t.Error("query followed a redirect to another origin")
			}
			for _, want := range []string{"refusing to follow the redirect", target.srv.URL} {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("query error = %q, want it to contain %q", err, want)
				}
			}
			if got := target.seen(); len(got) != 0 {
				t.Errorf("the redirect target received %d requests (Authorization %q), want none", len(got), got)
			}
		})
	}
}

// TestSameOriginRedirectCarriesToken: a redirect within the configured origin (here from a
// path prefix to the root) is followed and the final request carries the token.
func TestSameOriginRedirectCarriesToken(t *testing.T) {
	rs := &recordingServer{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old"); ok {
			u := *r.URL
			u.Path = rest
			http.Redirect(w, r, u.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		rs.handle(w, r)
	}))
	t.Cleanup(srv.Close)
	if err := query(t, Config{BaseURL: srv.URL + "/old", CACertPath: caFile(t, srv), BearerToken: "sa-token"}); err != nil {
		t.Fatalf("query through a same-origin redirect: %v", err)
	}
	if got := rs.seen(); len(got) != 1 || got[0] != "Bearer sa-token" {
		t.Errorf("Authorization after the redirect = %q, want [Bearer sa-token]", got)
	}
}

// TestBearerTokenOnlyToConfiguredOrigin: even a request that reaches the transport without a
// redirect (e.g. a future caller) gets the token only for the configured origin.
func TestBearerTokenOnlyToConfiguredOrigin(t *testing.T) {
	configured := startRecording(t, true)
	plain := startRecording(t, false)
	other := startRecording(t, true)
	rt, err := newRoundTripper(Config{BaseURL: configured.srv.URL, CACertPath: caFile(t, configured.srv), BearerToken: "sa-token"}, clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	send := func(url string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/query", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		_ = resp.Body.Close()
	}
	send(configured.srv.URL)
	send(plain.srv.URL)
	send(other.srv.URL)
	if got := configured.seen(); len(got) != 1 || got[0] != "Bearer sa-token" {
		t.Errorf("configured origin saw Authorization %q, want [Bearer sa-token]", got)
	}
	if got := plain.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("plain http server saw Authorization %q, want none", got)
	}
	if got := other.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("other https origin saw Authorization %q, want none", got)
	}
}
func TestSameOrigin(t *testing.T) {
	cases := map[string]struct {
		base, target string
		want         bool
	}{
		"same":                      {"https://p:9090/prefix", "https://p:9090/api/v1/query", true},
		"host case":                 {"https://Prometheus:9090", "https://prometheus:9090/x", true},
		"default https port":        {"https://p", "https://p:443/x", true},
		"default http port":         {"http://p:80", "http://p/x", true},
		"downgrade to http":         {"https://p:9090", "http://p:9090/x", false},
		"upgrade is another origin": {"http://p:9090", "https://p:9090/x", false},
		"other host":                {"https://p:9090", "https://q:9090/x", false},
		"other port":                {"https://p:9090", "https://p:9091/x", false},
		"user info does not count":  {"https://u:pw@p:9090", "https://p:9090/x", true},
		"IPv6":                      {"https://[::1]:9090", "https://[::1]:9090/x", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b, tgt := mustParse(t, tc.base), mustParse(t, tc.target)
			if got := originOf(b) == originOf(tgt); got != tc.want {
				t.Errorf("same origin(%s, %s) = %v, want %v (%q vs %q)", tc.base, tc.target, got, tc.want, originOf(b), originOf(tgt))
			}
		})
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestQueryErrorRedactsPassword: a failed query (here: nothing listens) does not show the
// password of the configured URL.
func TestQueryErrorRedactsPassword(t *testing.T) {
	rs := startRecording(t, true)
	base := strings.Replace(rs.srv.URL, "https://", "https://wva:s3cret@", 1)
	rs.srv.Close()
	err := query(t, Config{BaseURL: base, InsecureSkipVerify: true})
	if err == nil {
		t.Fatal("query against a closed server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("query error %q shows the password", err)
	}
}
