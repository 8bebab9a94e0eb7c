package testutil

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// envAssets is the variable envtest (and the Makefile) use for the directory
	// holding kube-apiserver and etcd.
	envAssets = "KUBEBUILDER_ASSETS"
	// envStartTimeout is envtest's own override for the start timeout.
	envStartTimeout = "KUBEBUILDER_CONTROLPLANE_START_TIMEOUT"

	// defaultStartTimeout is generous because the control plane shares the
	// machine with parallel test binaries; a healthy start takes a few seconds.
	defaultStartTimeout = 60 * time.Second

	hintBuild = "run `make envtest-binaries` (or hack/envtest-binaries.sh) to build them"
)

// CacheBinDir returns the directory hack/envtest-binaries.sh installs the
// binaries into:
//
//	${WVA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wva}/k8s/<KubeVersion>-etcd<EtcdVersion>/bin
//
// As in the script, an empty variable counts as unset and a relative path is
// taken relative to the working directory.
func CacheBinDir() (string, error) {
	root := os.Getenv("WVA_CACHE_DIR")
	if root == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home := os.Getenv("HOME")
			if home == "" {
				return "", errors.New("cannot locate the envtest binary cache: WVA_CACHE_DIR, XDG_CACHE_HOME and HOME are all unset")
			}
			base = filepath.Join(home, ".cache")
		}
		root = filepath.Join(base, "wva")
	}
	return filepath.Abs(filepath.Join(root, "k8s", KubeVersion+"-etcd"+EtcdVersion, "bin"))
}

// BinDir returns the directory holding kube-apiserver and etcd: $KUBEBUILDER_ASSETS
// if set and non-empty, otherwise CacheBinDir. It fails, naming the script to
// run, if either binary is missing there.
func BinDir() (string, error) {
	dir, from := os.Getenv(envAssets), envAssets
	if dir == "" {
		var err error
		if dir, err = CacheBinDir(); err != nil {
			return "", fmt.Errorf("%w; %s", err, hintBuild)
		}
		from = "the cache (" + envAssets + " is unset)"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("envtest binary dir %q from %s: %w", dir, from, err)
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if err := checkExecutable(filepath.Join(abs, name)); err != nil {
			return "", fmt.Errorf("envtest binaries not found in %s (from %s): %w; %s", abs, from, err, hintBuild)
		}
	}
	return abs, nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// StartEnv starts an envtest control plane (etcd + kube-apiserver from BinDir)
// with the CRDs found in crdDirs installed; a missing CRD dir is an error.
// The caller must call Stop on the returned environment.
//
// It never uses an existing cluster, whatever USE_EXISTING_CLUSTER says.
func StartEnv(crdDirs ...string) (*envtest.Environment, *rest.Config, error) {
	dir, err := BinDir()
	if err != nil {
		return nil, nil, err
	}
	useExisting := false
	env := &envtest.Environment{
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: dir,
		UseExistingCluster:    &useExisting,
	}
	// Point at the binaries explicitly, so TEST_ASSET_* or an empty
	// KUBEBUILDER_ASSETS cannot send envtest elsewhere.
	env.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, "etcd")}
	if os.Getenv(envStartTimeout) == "" {
		env.ControlPlaneStartTimeout = defaultStartTimeout
	}

	cfg, err := env.Start()
	if err != nil {
		// Start may have left etcd or kube-apiserver running.
		if stopErr := env.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping after failed start: %w", stopErr))
		}
		return nil, nil, fmt.Errorf("starting envtest with binaries from %s: %w", dir, err)
	}
	return env, cfg, nil
}

// EnvNotNeeded reports, from a TestMain, whether the package may run without the envtest
// control plane: no test is selected (-test.run is "^$", as `make bench` runs) and the
// binaries are missing. It returns the reason to print. Benchmarks that need the control
// plane must then skip themselves. It parses the command-line flags, which TestMain may do.
func EnvNotNeeded() (string, bool) {
	if !flag.Parsed() {
		flag.Parse()
	}
	run := flag.Lookup("test.run")
	if run == nil || run.Value.String() != "^$" {
		return "", false
	}
	if _, err := BinDir(); err != nil {
		return "no test selected (-test.run '^$') and " + err.Error() + ": envtest not started", true
	}
	return "", false
}
