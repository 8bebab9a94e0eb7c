package promsource

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects a query follows, as net/http's default policy.
const maxRedirects = 10

// originOf returns the scheme, host and port of u, lower-cased and with the scheme's default
// port made explicit, so that https://P and https://p:443 compare equal. User info and path do
// not count.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// sameOriginRedirects returns an http.Client CheckRedirect that follows a redirect only when it
// stays on origin (scheme, host and port of the configured URL). A redirect elsewhere, another
// host or plain http, would otherwise carry the query and, through bearerRoundTripper's header,
// was the way the service-account token left the cluster; it is refused instead.
func sameOriginRedirects(origin string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if got := originOf(req.URL); got != origin {
			from := ""
			if len(via) > 0 {
				from = " from " + via[len(via)-1].URL.Redacted()
			}
			return fmt.Errorf("refusing to follow the redirect%s to %s: Prometheus queries and the bearer token go only to %s, the origin of %s",
				from, req.URL.Redacted(), origin, EnvBaseURL)
		}
		return nil
	}
}
