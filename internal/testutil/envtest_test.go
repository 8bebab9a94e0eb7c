package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
)

const scriptPath = "../../hack/envtest-binaries.sh"

// TestStartEnv starts a real control plane. It does not skip when the
// binaries are missing: it fails with StartEnv's hint to build them.
func TestStartEnv(t *testing.T) {
	start := time.Now()
	env, cfg, err := StartEnv()
	if err != nil {
		t.Fatalf("StartEnv: %v", err)
	}
	t.Logf("envtest control plane started in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		stopStart := time.Now()
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
		t.Logf("envtest control plane stopped in %s", time.Since(stopStart).Round(time.Millisecond))
	})

	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		t.Fatalf("GET /version: %v", err)
	}
	if info.GitVersion != KubeVersion {
		t.Errorf("server /version gitVersion = %q, want %q (binaries built without version ldflags?)", info.GitVersion, KubeVersion)
	}
	if want := strings.Split(strings.TrimPrefix(KubeVersion, "v"), ".")[1]; info.Major != "1" || info.Minor != want {
		t.Errorf("server /version major.minor = %q.%q, want 1.%s", info.Major, info.Minor, want)
	}
}

func TestStartEnvMissingBinaries(t *testing.T) {
	t.Setenv(envAssets, t.TempDir()) // no binaries: must fail before starting anything
	_, _, err := StartEnv()
	if err == nil || !strings.Contains(err.Error(), "envtest-binaries") {
		t.Fatalf("StartEnv with an empty %s: err = %v, want a hint to run envtest-binaries", envAssets, err)
	}
}

// TestVersionsMatchScript keeps KubeVersion/EtcdVersion and the script defaults in sync.
func TestVersionsMatchScript(t *testing.T) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"KUBE_VERSION": KubeVersion, "ETCD_VERSION": EtcdVersion} {
		re := regexp.MustCompile(`(?m)^` + name + `="\$\{` + name + `:-([^}]*)\}"$`)
		m := re.FindSubmatch(script)
		if m == nil {
			t.Errorf("%s: no line %s=\"${%s:-...}\" found", scriptPath, name, name)
			continue
		}
		if got := string(m[1]); got != want {
			t.Errorf("%s defaults %s to %s, but versions.go says %s", scriptPath, name, got, want)
		}
	}
}

// TestCacheBinDirMatchesScript runs the script against a cache holding fake
// binaries (so nothing is built) and checks it prints the path CacheBinDir computes.
func TestCacheBinDirMatchesScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not available")
	}
	abs, err := filepath.Abs(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, wva, xdg string
	}{
		{name: "WVA_CACHE_DIR", wva: t.TempDir(), xdg: t.TempDir()},
		{name: "XDG_CACHE_HOME", xdg: t.TempDir()},
		{name: "HOME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("WVA_CACHE_DIR", tc.wva)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			for _, v := range []string{"KUBE_VERSION", "ETCD_VERSION"} {
				t.Setenv(v, "") // restores the caller's value afterwards
				if err := os.Unsetenv(v); err != nil {
					t.Fatal(err)
				}
			}
			dir, err := CacheBinDir()
			if err != nil {
				t.Fatal(err)
			}
			writeFake(t, filepath.Join(dir, "kube-apiserver"), "Kubernetes "+KubeVersion)
			writeFake(t, filepath.Join(dir, "etcd"), "etcd Version: "+strings.TrimPrefix(EtcdVersion, "v"))

			var stdout, stderr bytes.Buffer
			cmd := exec.Command("bash", abs)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstderr:\n%s", scriptPath, err, stderr.String())
			}
			if got := stdout.String(); got != dir+"\n" {
				t.Errorf("script printed %q, CacheBinDir() = %q\nstderr:\n%s", got, dir, stderr.String())
			}
			t.Setenv(envAssets, "")
			if got, err := BinDir(); err != nil || got != dir {
				t.Errorf("BinDir() = %q, %v; want %q", got, err, dir)
			}
		})
	}
}

func writeFake(t *testing.T, path, versionLine string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+versionLine+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
