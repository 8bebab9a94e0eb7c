package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// The suite runs one real kube-apiserver + etcd and one manager with both reconcilers, wired to
// fresh instances of the common layer.
var (
	k8sClient client.Client
	restCfg   *rest.Config
	decisions *common.InternalDecisionCache
	vaCache   *common.VACache
	sharedCfg *common.GlobalConfig
	trigger   chan event.GenericEvent
	actuated  = &recordingActuator{applied: map[types.NamespacedName]int{}, forgotten: map[types.NamespacedName]int{},
		failing: map[types.NamespacedName]int{}, delegates: map[types.NamespacedName]Actuator{},
		calls: keyCounter{n: map[types.NamespacedName]int{}}}
	// statusPatches counts the controller's status patches per VariantAutoscaling.
	statusPatches = &keyCounter{n: map[types.NamespacedName]int{}}
	// mutedStatus holds the VariantAutoscalings whose status the suite's reconciler must not
	// patch, because a test drives them with a reconciler of its own.
	mutedStatus = &keyed[struct{}]{}
	// cachedClient is the manager's (informer-backed) client.
	cachedClient client.Client
	cmReconciler *ConfigMapReconciler
	cmNames      = ConfigMapNames{Namespace: "wva-system", Main: "wva-config", Saturation: "saturation-scaling-config", ServiceClasses: "service-classes-config"}
	suiteCancel  context.CancelFunc
)

// suitePrometheus is the manager's Prometheus URL in the suite, with a password that must never
// reach a ScaledObject.
const suitePrometheus = "https://wva:secret@prometheus.monitoring.svc:9090"

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapLevel())))
	if reason, skip := testutil.EnvNotNeeded(); skip {
		fmt.Fprintln(os.Stderr, reason)
		return m.Run()
	}
	// KEDA's ScaledObject as a stand-in CRD, for spec.scaler (scaler_test.go).
	env, cfg, err := testutil.StartEnv(filepath.Join("..", "..", "config", "crd", "bases"), filepath.Join("testdata", "keda-crds"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()

	scheme := runtime.NewScheme()
	must(clientgoscheme.AddToScheme(scheme))
	must(wvav1alpha1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	must(err)

	decisions = common.NewInternalDecisionCache()
	vaCache = common.NewVACache()
	sharedCfg = common.NewGlobalConfig()
	trigger = common.NewDecisionTrigger()
	recorder := mgr.GetEventRecorder("wva-controller")
	cachedClient = mgr.GetClient()
	must(NewVariantAutoscalingReconciler(countingClient{Client: mgr.GetClient()}, recorder, decisions, vaCache, trigger, WithActuator(actuated),
		WithScalerPrometheusAddress(suitePrometheus)).SetupWithManager(mgr))
	cmReconciler = NewConfigMapReconciler(mgr.GetClient(), recorder, sharedCfg, cmNames)
	must(cmReconciler.SetupWithManager(mgr))

	ctx, cancel := context.WithCancel(context.Background())
	suiteCancel = cancel
	done := make(chan error)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "cache did not sync")
		return 1
	}
	restCfg = cfg
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	must(err)

	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("WVA_TEST_VERBOSE") != "" {
		return -5
	}
	return 1
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// eventually polls cond until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	testutil.Eventually(t, timeout, cond)
}

// eventsFor lists the events.k8s.io events regarding an object, by reason, one entry per
// occurrence.
func eventsFor(ctx context.Context, obj client.Object) (map[string][]string, error) {
	var list eventsv1.EventList
	if err := k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == obj.GetName() && e.Regarding.UID == obj.GetUID() {
			n := 1 // an event repeated within minutes becomes one object with a series count
			if e.Series != nil {
				n = int(e.Series.Count)
			}
			for range n {
				out[e.Reason] = append(out[e.Reason], e.Note)
			}
		}
	}
	return out, nil
}

// keyCounter counts calls per object key.
type keyCounter struct {
	mu sync.Mutex
	n  map[types.NamespacedName]int
}

func (c *keyCounter) inc(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]++
}

func (c *keyCounter) get(key types.NamespacedName) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// countingClient is the controller's client, counting its status patches in statusPatches.
type countingClient struct{ client.Client }

func (c countingClient) Status() client.SubResourceWriter {
	return countingStatus{SubResourceWriter: c.Client.Status()}
}

type countingStatus struct{ client.SubResourceWriter }

func (s countingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if _, muted := mutedStatus.get(client.ObjectKeyFromObject(obj)); muted {
		return nil // a test reconciles this VariantAutoscaling with its own reconciler
	}
	statusPatches.inc(client.ObjectKeyFromObject(obj))
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// recordingActuator records what the controller asks to actuate.
type recordingActuator struct {
	mu        sync.Mutex
	applied   map[types.NamespacedName]int // latest target actuated
	forgotten map[types.NamespacedName]int // number of Forget calls
	failing   map[types.NamespacedName]int // keys whose Actuate fails, with the number of calls
	delegates map[types.NamespacedName]Actuator
	calls     keyCounter // Actuate calls per key
}

// delegate makes the actuator pass the VariantAutoscaling key's calls to a (a real Actuator).
func (a *recordingActuator) delegate(key types.NamespacedName, to Actuator) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delegates[key] = to
}

func (a *recordingActuator) Actuate(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) (*interfaces.ScaleConflict, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := client.ObjectKeyFromObject(va)
	a.calls.inc(key)
	if to, ok := a.delegates[key]; ok {
		a.applied[key] = d.TargetReplicas
		return to.Actuate(ctx, va, d)
	}
	if n, ok := a.failing[key]; ok {
		a.failing[key] = n + 1
		return nil, errors.New("scale subresource refused")
	}
	a.applied[key] = d.TargetReplicas
	return nil, nil
}

func (a *recordingActuator) Forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if to, ok := a.delegates[key]; ok {
		to.Forget(key)
	}
	delete(a.applied, key)
	a.forgotten[key]++
}

func (a *recordingActuator) failOn(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing[key] = 0
}

func (a *recordingActuator) failures(key types.NamespacedName) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failing[key]
}

func (a *recordingActuator) state(key types.NamespacedName) (target int, applied bool, forgotten int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	target, applied = a.applied[key]
	return target, applied, a.forgotten[key]
}
