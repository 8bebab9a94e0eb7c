// Package chain puts WVA on a local cluster (test/e2e/localcluster) and drives it: it installs
// the manager from config/default (run as a process with a kubeconfig), deploys variants
// (Deployments of emulated vLLM pods and their VariantAutoscalings), reads back the decision,
// spec.replicas and Ready pods of each, and talks to the vLLM emulator's control API. The e2e
// tests (test/e2e) and the demo (hack/demo-cluster) share it.
package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

const (
	// WVANamespace is where config/default installs WVA.
	WVANamespace = "workload-variant-autoscaler-system"
	// WVAPrefix is config/default's name prefix.
	WVAPrefix = "workload-variant-autoscaler-"
	// ManagerComponent and EmulatorComponent are the names of the manager's and the emulator's
	// processes in the cluster's state directory (logs/<name>.log, pids/<name>.pid).
	ManagerComponent  = "wva-manager"
	EmulatorComponent = "vllm-emulator"
)

// NewClient returns an administrator's controller-runtime client of c, with the core and WVA
// types registered.
func NewClient(c *localcluster.Cluster) (client.Client, error) {
	rc, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := wvav1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(rc, client.Options{Scheme: scheme})
}

// StartEmulator starts the vLLM emulator (`<helper> vllm`) as a component of c, its control API
// on addr.
func StartEmulator(c *localcluster.Cluster, addr string) error {
	cfg := c.Config()
	return c.StartProcess(EmulatorComponent, cfg.Helper, []string{"vllm", "--kubeconfig=" + c.AdminKubeconfig(),
		"--netns=" + cfg.Network.Namespace, "--control-address=" + addr,
		fmt.Sprintf("--pod-port=%d", cfg.Ports.PodMetrics)}, nil)
}

// InstallOptions configure InstallManager.
type InstallOptions struct {
	// RepoRoot is the clone's root (config/default is read from it).
	RepoRoot string
	// ManagerBin is the manager binary (cmd/manager).
	ManagerBin string
	// EngineInterval is GLOBAL_OPT_INTERVAL (the shipped ConfigMap says 30s); empty keeps it.
	EngineInterval string
	// ScaleDownStabilization is the manager's --scale-down-stabilization; 0 keeps its default.
	ScaleDownStabilization time.Duration
}

// InstallManager applies config/default (all but the manager's Deployment: the manager runs
// here as a process, with a kubeconfig holding a token of the installed ServiceAccount and the
// rendered arguments and environment), and gives Prometheus a token bound to metrics-reader.
func InstallManager(ctx context.Context, c *localcluster.Cluster, cl client.Client, o InstallOptions) error {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(o.RepoRoot, "config", "default"))
	if err != nil {
		return fmt.Errorf("kustomize build config/default: %w", err)
	}
	var objs []*unstructured.Unstructured
	var manager *unstructured.Unstructured
	for _, r := range res.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return err
		}
		if u.GetKind() == "Deployment" {
			manager = u
			continue
		}
		if u.GetKind() == "ConfigMap" && u.GetName() == WVAPrefix+"variantautoscaling-config" {
			if o.EngineInterval != "" {
				_ = unstructured.SetNestedField(u.Object, o.EngineInterval, "data", "GLOBAL_OPT_INTERVAL")
			}
			_ = unstructured.SetNestedField(u.Object, c.PrometheusURL(), "data", "PROMETHEUS_BASE_URL")
		}
		objs = append(objs, u)
	}
	if manager == nil {
		return fmt.Errorf("config/default renders no manager Deployment")
	}
	if err := localcluster.Apply(ctx, cl, objs); err != nil {
		return err
	}
	// Prometheus scrapes the manager with a token of a ServiceAccount bound to metrics-reader.
	prom := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: WVANamespace}}
	if err := CreateIgnoreExists(ctx, cl, prom); err != nil {
		return err
	}
	if err := CreateIgnoreExists(ctx, cl, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-prometheus-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: WVAPrefix + "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: prom.Name, Namespace: WVANamespace}}}); err != nil {
		return err
	}
	promToken, err := token(ctx, cl, prom)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.ManagerTokenFile(), []byte(promToken), 0o600); err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: WVAPrefix + "controller-manager", Namespace: WVANamespace}}
	mgrToken, err := token(ctx, cl, sa)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthority: filepath.Join(c.Config().StateDir, "pki", "ca.crt")}
	kc.AuthInfos["wva"] = &clientcmdapi.AuthInfo{Token: mgrToken}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "wva"}
	kc.CurrentContext = "local"
	kcPath := filepath.Join(c.Config().StateDir, "wva-manager.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kcPath); err != nil {
		return err
	}
	containers, _, _ := unstructured.NestedSlice(manager.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return fmt.Errorf("the manager Deployment of config/default has no container")
	}
	ctr := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	// Local addresses instead of the manifest's ports on every interface (later flags win).
	args = append(args, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", c.Config().Ports.Manager),
		"--health-probe-bind-address=127.0.0.1:8081", "--prometheus-allow-http")
	if o.ScaleDownStabilization > 0 {
		args = append(args, "--scale-down-stabilization="+o.ScaleDownStabilization.String())
	}
	environ := []string{"KUBECONFIG=" + kcPath, "POD_NAMESPACE=" + WVANamespace, "PROMETHEUS_BASE_URL=" + c.PrometheusURL()}
	envVars, _, _ := unstructured.NestedSlice(ctr, "env")
	for _, e := range envVars {
		m := e.(map[string]any)
		name := m["name"].(string)
		if v, ok := m["value"].(string); ok && name != "PROMETHEUS_TOKEN_PATH" { // Prometheus here needs no token
			environ = append(environ, name+"="+v)
		}
	}
	return c.StartProcess(ManagerComponent, o.ManagerBin, args, environ)
}

func token(ctx context.Context, cl client.Client, sa *corev1.ServiceAccount) (string, error) {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](6 * 3600)}}
	if err := cl.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	return tr.Status.Token, nil
}

// CreateIgnoreExists creates o unless it exists.
func CreateIgnoreExists(ctx context.Context, cl client.Client, o client.Object) error {
	if err := cl.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
	}
	return nil
}

// Variant is one Deployment + VariantAutoscaling.
type Variant struct {
	// Name of the Deployment and the VariantAutoscaling.
	Name string
	// Profile is the sim profile the emulator serves the pods with (sim.ProfileL4, ...).
	Profile string
	// Product is the nvidia.com/gpu.product of the nodes the pods run on.
	Product string
	// Accelerator is the VariantAutoscaling's accelerator label; Cost its variantCost.
	Accelerator, Cost string
	// Model is the served model (spec.modelID and the emulator's model_name).
	Model string
	// Startup is the pods' model-load delay (Ready after it) and startupDelaySeconds.
	Startup  time.Duration
	Min, Max int32
	// Direct sets the Direct actuation mode (WVA writes spec.replicas); otherwise Metrics.
	Direct bool
}

// Deploy creates the namespace, the variants' Deployments (one GPU per pod, on nodes with the
// variant's GPU product, Ready after the start-up delay) and their VariantAutoscalings.
func Deploy(ctx context.Context, c *localcluster.Cluster, cl client.Client, ns string, vs ...Variant) error {
	if err := CreateIgnoreExists(ctx, cl, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	for _, v := range vs {
		labels := map[string]string{"app": v.Name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(v.Min),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
						"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(c.Config().Ports.PodMetrics),
						vllmemu.AnnotationProfile: v.Profile, vllmemu.AnnotationModel: v.Model,
						localcluster.AnnotationReadyDelay: v.Startup.String(),
					}},
					Spec: corev1.PodSpec{
						NodeSelector:                  map[string]string{localcluster.LabelGPUProduct: v.Product},
						TerminationGracePeriodSeconds: ptr.To[int64](0),
						Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:latest",
							Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{localcluster.ResourceGPU: resource.MustParse("1")}}}},
					},
				},
			},
		}
		if err := cl.Create(ctx, d); err != nil {
			return fmt.Errorf("creating Deployment %s: %w", v.Name, err)
		}
		va := &wvav1alpha1.VariantAutoscaling{
			ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: ns,
				Labels: map[string]string{"inference.optimization/acceleratorName": v.Accelerator}},
			Spec: wvav1alpha1.VariantAutoscalingSpec{
				ScaleTargetRef:      autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: v.Name},
				ModelID:             v.Model,
				VariantCost:         v.Cost,
				MinReplicas:         ptr.To(v.Min),
				MaxReplicas:         ptr.To(v.Max),
				StartupDelaySeconds: ptr.To(int32(v.Startup.Seconds())),
			},
		}
		if v.Direct {
			va.Spec.Actuation = &wvav1alpha1.ActuationSpec{Mode: wvav1alpha1.ActuationDirect}
		}
		if err := cl.Create(ctx, va); err != nil {
			return fmt.Errorf("creating VariantAutoscaling %s: %w", v.Name, err)
		}
	}
	return nil
}

// Snapshot is, per variant (by name), the decision (status.optimizedAlloc.replicas),
// spec.replicas, the Ready pods, and the MetricsAvailable condition's status and reason.
type Snapshot struct {
	Decision, Spec, Ready map[string]int
	MetricsAvailable      map[string]metav1.ConditionStatus
	Reasons               map[string]string
}

// Sum adds up the values of m.
func Sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Observe reads the variants' state.
func Observe(ctx context.Context, cl client.Client, ns string, vs ...Variant) (Snapshot, error) {
	s := Snapshot{Decision: map[string]int{}, Spec: map[string]int{}, Ready: map[string]int{},
		MetricsAvailable: map[string]metav1.ConditionStatus{}, Reasons: map[string]string{}}
	for _, v := range vs {
		va := &wvav1alpha1.VariantAutoscaling{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Name}, va); err != nil {
			return s, fmt.Errorf("reading VariantAutoscaling %s: %w", v.Name, err)
		}
		s.Decision[v.Name] = va.Status.OptimizedAlloc.Replicas
		if c := meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable); c != nil {
			s.MetricsAvailable[v.Name] = c.Status
			s.Reasons[v.Name] = c.Reason
		}
		d := &appsv1.Deployment{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Name}, d); err != nil {
			return s, fmt.Errorf("reading Deployment %s: %w", v.Name, err)
		}
		s.Spec[v.Name] = int(ptr.Deref(d.Spec.Replicas, 0))
		s.Ready[v.Name] = int(d.Status.ReadyReplicas)
	}
	return s, nil
}

// Emulator is a client of the vLLM emulator's control API.
type Emulator struct {
	// Addr is the control API's host:port.
	Addr string
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// SetLoad sets the load of one model in one namespace.
func (e Emulator) SetLoad(lr vllmemu.LoadRequest) error {
	b, err := json.Marshal(lr)
	if err != nil {
		return err
	}
	resp, err := httpClient.Post("http://"+e.Addr+"/load", "application/json", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("setting the load: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return fmt.Errorf("setting the load: %s: %s", resp.Status, bytes.TrimSpace(msg.Bytes()))
	}
	return nil
}

// Stats returns the emulator's state.
func (e Emulator) Stats() (vllmemu.Stats, error) {
	var st vllmemu.Stats
	resp, err := httpClient.Get("http://" + e.Addr + "/stats")
	if err != nil {
		return st, fmt.Errorf("reading the emulator's stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("reading the emulator's stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decoding the emulator's stats: %w", err)
	}
	return st, nil
}

// WaitHealthy waits until the emulator's control API answers, or timeout passes.
func (e Emulator) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := httpClient.Get("http://" + e.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the vLLM emulator on %s does not answer after %s: %w", e.Addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
