package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestShippedRBACSuffices installs config/default as `kubectl apply -k` would and runs the
// manager's main() as its own process, with the rendered Deployment's arguments (leader election
// on) and environment, authenticated as the rendered ServiceAccount, so that it holds only the
// shipped RBAC. Over a run that elects a leader, actuates a Direct-mode VariantAutoscaling next
// to an HPA, records events of both APIs (core v1 from leader election, events.k8s.io from the
// controller), serves an authorized scrape and releases the lease, nothing the manager logs may
// say "forbidden".
func TestShippedRBACSuffices(t *testing.T) {
	const ns, prefix = "workload-variant-autoscaler-system", "workload-variant-autoscaler-"
	objs := renderInstall(t)

	env, cfg, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = wvav1alpha1.AddToScheme(scheme)
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	var manager *unstructured.Unstructured
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "Deployment" {
			manager = o
		}
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		return admin.List(ctx, &wvav1alpha1.VariantAutoscalingList{})
	})

	// A workload: a Direct-mode variant whose Deployment an HPA also scales, and a variant
	// whose Deployment is missing (a TargetNotFound event, through events.k8s.io).
	const app = "llm"
	create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: app}})
	dep := testutil.Deployment("llama").Namespace(app).Replicas(1).Obj()
	create(t, admin, dep)
	direct := testutil.VariantAutoscaling("llama").Namespace(app).Accelerator("L4").Direct().Obj()
	create(t, admin, direct)
	create(t, admin, testutil.HPA(app, "llama", dep.Name))
	orphan := testutil.VariantAutoscaling("orphan").Namespace(app).Target("missing").Accelerator("L4").Obj()
	create(t, admin, orphan)
	scraper := scraperToken(t, admin, ns, prefix+"metrics-reader")

	// The manager's process: the rendered arguments and environment, and a kubeconfig holding
	// a token of the installed ServiceAccount, nothing more.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: prefix + "controller-manager", Namespace: ns}}
	tr := &authenticationv1.TokenRequest{}
	if err := admin.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("requesting a token for %s: %v", sa.Name, err)
	}
	kubeconfig := writeKubeconfig(t, cfg, tr.Status.Token)
	containers, _, _ := unstructured.NestedSlice(manager.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	if !slices.Contains(args, "--leader-elect=true") {
		t.Fatalf("the rendered manager does not elect a leader: args %v", args)
	}
	metricsAddr := freeAddr(t)
	// Local addresses instead of the manifest's ports on every interface (later flags win);
	// no Prometheus runs (queries fail on a closed local port).
	args = append(args, "--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+freeAddr(t), "--prometheus-allow-http")
	environ := []string{envManagerProcess + "=1", "KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + ns,
		"PROMETHEUS_BASE_URL=http://" + freeAddr(t), "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	envVars, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
	for _, e := range envVars {
		name := e.(map[string]any)["name"].(string)
		if v, ok := e.(map[string]any)["value"].(string); ok && name != "PROMETHEUS_TOKEN_PATH" { // no token file is mounted
			environ = append(environ, name+"="+v)
		}
	}
	logs := &logCapture{}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = environ, logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := <-exited; err != nil {
			t.Errorf("manager process: %v", err)
		}
		if testing.Verbose() {
			t.Logf("manager log:\n%s", logs.String())
		}
	}
	t.Cleanup(stop)

	// Actuation comes with the second engine cycle (the first finds no replica count in
	// status yet), which starts after the default interval of 30 s: the engine chose its
	// first wait before the ConfigMap controller loaded GLOBAL_OPT_INTERVAL.
	testutil.Eventually(t, 90*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			return nil // fails in stop, with the log
		default:
		}
		if logs.contains("forbidden") {
			return nil // fails below, with the lines
		}
		lease := &coordinationv1.Lease{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: LeaderElectionID}, lease); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("no leader yet")
		}
		if err := eventExists(ctx, admin, ns, "LeaderElection"); err != nil {
			return err
		}
		if err := eventExists(ctx, admin, app, "TargetNotFound"); err != nil {
			return err
		}
		got := &wvav1alpha1.VariantAutoscaling{}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(direct), got); err != nil {
			return err
		}
		// Actuated in Direct mode: the HPA was looked for, and found.
		if !meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionActuationConflict) {
			return fmt.Errorf("%s not actuated yet: %+v", direct.Name, got.Status.Conditions)
		}
		// TokenReview and SubjectAccessReview, under the manager's identity.
		if _, err := scrape(metricsAddr, scraper); err != nil {
			return fmt.Errorf("scrape: %w", err)
		}
		return nil
	})
	stop() // releasing the lease is part of the run
	if lines := logs.linesWith("forbidden"); len(lines) > 0 {
		t.Errorf("the manager, holding only the shipped RBAC, was forbidden something:\n%s", strings.Join(lines, "\n"))
	}
}

// writeKubeconfig writes a kubeconfig for cfg's API server that authenticates with token only.
func writeKubeconfig(t *testing.T, cfg *rest.Config, token string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["manager"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["manager"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "manager"}
	kc.CurrentContext = "manager"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// renderInstall renders config/default as `kubectl apply -k` would.
func renderInstall(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	return renderKustomize(t, filepath.Join("..", "..", "config", "default"))
}

// eventExists reports whether namespace ns holds an event with the given reason, core v1 or
// events.k8s.io (both APIs read the same objects).
func eventExists(ctx context.Context, c client.Client, ns, reason string) error {
	list := &eventsv1.EventList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return err
	}
	var reasons []string
	for _, e := range list.Items {
		if e.Reason == reason {
			return nil
		}
		reasons = append(reasons, e.Reason)
	}
	return fmt.Errorf("no %s event in %s (events: %v)", reason, ns, reasons)
}

// scraperToken returns a token of a new ServiceAccount bound to the installed metrics-reader
// ClusterRole, as the install asks for the Prometheus that scrapes WVA.
func scraperToken(t *testing.T, c client.Client, ns, role string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: ns}}
	create(t, c, sa)
	create(t, c, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}}})
	tr := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(context.Background(), sa, tr); err != nil {
		t.Fatalf("requesting a token for %s: %v", sa.Name, err)
	}
	return tr.Status.Token
}

// logCapture collects what a process logs.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logCapture) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(bytes.ToLower(l.buf.Bytes()), []byte(strings.ToLower(s)))
}

func (l *logCapture) linesWith(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.SplitSeq(l.buf.String(), "\n") {
		if strings.Contains(strings.ToLower(line), strings.ToLower(s)) {
			out = append(out, line)
		}
	}
	return out
}
