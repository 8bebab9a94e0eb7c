package promsource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// fakePrometheus is an HTTPS server answering /api/v1/query with an empty vector and recording
// the Authorization header and client certificate of each query.
type fakePrometheus struct {
	srv *httptest.Server

	mu          sync.Mutex
	auth        []string
	clientNames []string
}

func startFakePrometheus(t *testing.T, clientAuth tls.ClientAuthType) *fakePrometheus {
	t.Helper()
	fp := &fakePrometheus{}
	fp.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/api/v1/query") {
			http.NotFound(w, r)
			return
		}
		fp.mu.Lock()
		fp.auth = append(fp.auth, r.Header.Get("Authorization"))
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			fp.clientNames = append(fp.clientNames, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		fp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	fp.srv.TLS = &tls.Config{ClientAuth: clientAuth, MinVersion: tls.VersionTLS12}
	fp.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	fp.srv.StartTLS()
	t.Cleanup(fp.srv.Close)
	return fp
}

func (fp *fakePrometheus) lastAuth() string {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if len(fp.auth) == 0 {
		return ""
	}
	return fp.auth[len(fp.auth)-1]
}

// caFile writes the server's self-signed certificate as a PEM CA bundle.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return writeFile(t, "ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func query(t *testing.T, cfg Config) error {
	t.Helper()
	a, err := NewAPI(cfg)
	if err != nil {
		t.Fatalf("NewAPI: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, _, err = a.Query(ctx, "up", time.Now())
	return err
}

func TestNewAPITLSAndBearerToken(t *testing.T) {
	fp := startFakePrometheus(t, tls.NoClientCert)
	ca := caFile(t, fp.srv)
	// Every httptest server shares one built-in certificate, so "another CA" is a fresh one.
	unrelated, _ := clientCert(t, "unrelated CA")
	otherCA := writeFile(t, "other-ca.crt", unrelated)
	token := writeFile(t, "token", "tok-1\n")

	cases := map[string]struct {
		cfg      Config
		wantErr  string
		wantAuth string
	}{
		"CA and token file": {cfg: Config{BaseURL: fp.srv.URL, CACertPath: ca, TokenPath: token}, wantAuth: "Bearer tok-1"},
		"literal token wins": {
			cfg:      Config{BaseURL: fp.srv.URL, CACertPath: ca, TokenPath: token, BearerToken: "literal"},
			wantAuth: "Bearer literal",
		},
		"no token, no header":          {cfg: Config{BaseURL: fp.srv.URL, CACertPath: ca}, wantAuth: ""},
		"server name in the cert":      {cfg: Config{BaseURL: fp.srv.URL, CACertPath: ca, ServerName: "example.com"}},
		"system roots reject the cert": {cfg: Config{BaseURL: fp.srv.URL}, wantErr: "certificate"},
		"another CA rejects the cert":  {cfg: Config{BaseURL: fp.srv.URL, CACertPath: otherCA}, wantErr: "certificate"},
		"server name not in the cert":  {cfg: Config{BaseURL: fp.srv.URL, CACertPath: ca, ServerName: "prometheus.invalid"}, wantErr: "prometheus.invalid"},
		"insecure skips verification":  {cfg: Config{BaseURL: fp.srv.URL, InsecureSkipVerify: true, CACertPath: otherCA}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := query(t, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("query error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			if got := fp.lastAuth(); got != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tc.wantAuth)
			}
		})
	}
}

func TestTokenFileRotation(t *testing.T) {
	fp := startFakePrometheus(t, tls.NoClientCert)
	token := writeFile(t, "token", "tok-1")
	clk := clocktesting.NewFakePassiveClock(time.Now())
	a, err := newAPI(Config{BaseURL: fp.srv.URL, CACertPath: caFile(t, fp.srv), TokenPath: token}, clk)
	if err != nil {
		t.Fatal(err)
	}
	check := func(want string) {
		t.Helper()
		if _, _, _, err := a.Query(context.Background(), "up", time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := fp.lastAuth(); got != "Bearer "+want {
			t.Errorf("Authorization = %q, want Bearer %s", got, want)
		}
	}
	check("tok-1")
	if err := os.WriteFile(token, []byte("tok-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(clk.Now().Add(30 * time.Second))
	check("tok-1") // not re-read within the period
	clk.SetTime(clk.Now().Add(31 * time.Second))
	check("tok-2")
	// A rotation in progress (file briefly missing or empty) keeps the last good token.
	if err := os.WriteFile(token, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	check("tok-2")
	if err := os.Remove(token); err != nil {
		t.Fatal(err)
	}
	check("tok-2")
	if err := os.WriteFile(token, []byte("tok-3"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("tok-3") // the failed re-reads did not restart the period
}

func TestMutualTLS(t *testing.T) {
	fp := startFakePrometheus(t, tls.RequireAnyClientCert)
	certPEM, keyPEM := clientCert(t, "wva")
	cfg := Config{BaseURL: fp.srv.URL, CACertPath: caFile(t, fp.srv),
		ClientCertPath: writeFile(t, "tls.crt", certPEM), ClientKeyPath: writeFile(t, "tls.key", keyPEM)}
	if err := query(t, cfg); err != nil {
		t.Fatalf("query with a client certificate: %v", err)
	}
	fp.mu.Lock()
	names := fp.clientNames
	fp.mu.Unlock()
	if len(names) != 1 || names[0] != "wva" {
		t.Errorf("client certificates seen by the server: %v, want [wva]", names)
	}
	cfg.ClientCertPath, cfg.ClientKeyPath = "", ""
	if err := query(t, cfg); err == nil {
		t.Error("query without a client certificate succeeded against a server requiring one")
	}
}

func TestNewAPIFileErrors(t *testing.T) {
	fp := startFakePrometheus(t, tls.NoClientCert)
	certPEM, keyPEM := clientCert(t, "wva")
	otherCert, _ := clientCert(t, "other")
	cases := map[string]struct {
		cfg     Config
		wantErr string
	}{
		"invalid config":        {cfg: Config{BaseURL: "http://p"}, wantErr: "PROMETHEUS_ALLOW_HTTP"},
		"missing CA file":       {cfg: Config{BaseURL: fp.srv.URL, CACertPath: "/nonexistent/ca.crt"}, wantErr: "reading Prometheus CA bundle /nonexistent/ca.crt"},
		"CA file without PEM":   {cfg: Config{BaseURL: fp.srv.URL, CACertPath: writeFile(t, "ca.crt", "garbage")}, wantErr: "no PEM certificate"},
		"missing token file":    {cfg: Config{BaseURL: fp.srv.URL, TokenPath: "/nonexistent/token"}, wantErr: "reading Prometheus bearer token file /nonexistent/token"},
		"empty token file":      {cfg: Config{BaseURL: fp.srv.URL, TokenPath: writeFile(t, "token", " \n")}, wantErr: "empty"},
		"mismatched client key": {cfg: Config{BaseURL: fp.srv.URL, ClientCertPath: writeFile(t, "c.crt", otherCert), ClientKeyPath: writeFile(t, "c.key", keyPEM)}, wantErr: "loading Prometheus client certificate"},
		"missing client key":    {cfg: Config{BaseURL: fp.srv.URL, ClientCertPath: writeFile(t, "c.crt", certPEM), ClientKeyPath: "/nonexistent/key"}, wantErr: "/nonexistent/key"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewAPI(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewAPI error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// clientCert returns a self-signed client certificate and its key, PEM-encoded.
func clientCert(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}
