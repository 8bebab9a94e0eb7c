package promsource

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// tokenSource returns the bearer token to send.
type tokenSource interface {
	Token() (string, error)
}

// staticToken is a literal token.
type staticToken string

// Token returns the literal.
func (s staticToken) Token() (string, error) { return string(s), nil }

// fileToken reads a token from a file and reads it again once period has passed, so rotated
// service-account tokens are picked up. When a re-read fails or finds an empty file (a rotation
// in progress), the previous token is kept and the file is tried again on the next request.
type fileToken struct {
	path   string
	period time.Duration
	clock  clock.PassiveClock

	mu     sync.Mutex
	token  string
	readAt time.Time
}

// Token returns the current token, reading the file when the cached one is older than period.
func (f *fileToken) Token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	if f.token != "" && now.Sub(f.readAt) < f.period {
		return f.token, nil
	}
	tok, err := readToken(f.path)
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", err
	}
	f.token, f.readAt = tok, now
	return tok, nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading Prometheus bearer token file %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("reading Prometheus bearer token file %s: the file is empty", path)
	}
	return tok, nil
}

// bearerRoundTripper adds "Authorization: Bearer <token>" to the requests for origin (see
// originOf), the configured Prometheus, and to no other: a request elsewhere (a redirect, which
// the client refuses anyway, or a future caller) goes out without the token. Plain http gets
// the token only when allowHTTP is set, which Validate requires for an http origin.
type bearerRoundTripper struct {
	next      http.RoundTripper
	token     tokenSource
	origin    string
	allowHTTP bool
}

// RoundTrip sends req, or a copy of it carrying the bearer token when req is for rt's origin.
func (rt *bearerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !rt.sendsTokenTo(req.URL) {
		return rt.next.RoundTrip(req)
	}
	tok, err := rt.token.Token()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close the body, even on errors
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return rt.next.RoundTrip(r)
}

// sendsTokenTo reports whether a request to u may carry the token.
func (rt *bearerRoundTripper) sendsTokenTo(u *url.URL) bool {
	if originOf(u) != rt.origin {
		return false
	}
	return strings.EqualFold(u.Scheme, "https") || (rt.allowHTTP && strings.EqualFold(u.Scheme, "http"))
}
