package testutil

import (
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
)

// Scheme returns a scheme with the built-in Kubernetes types and the llmd.ai API.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s) // cannot fail on a fresh scheme
	_ = wvav1alpha1.AddToScheme(s)
	return s
}

// StartEnvClient starts an envtest control plane with the CRDs of the repository's
// config/crd/bases (root is the path of the repository root from the test's package), stops it
// when the test ends, and returns its config and a client of Scheme.
func StartEnvClient(t testing.TB, root string) (*rest.Config, client.Client) {
	t.Helper()
	env, cfg, err := StartEnv(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, c
}
