package localcluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KEDANamespace is where the KEDA objects live.
const KEDANamespace = "keda"

// startKEDA installs KEDA's CRDs, starts its operator and metrics API server on the host, and
// registers the metrics API server as v1beta1.external.metrics.k8s.io through a Service without
// selector whose EndpointSlice names the network namespace's address (the helper forwards it to
// the adapter on loopback).
func (c *Cluster) startKEDA(ctx context.Context, cs kubernetes.Interface) error {
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	cl, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	crds, err := filepath.Glob(filepath.Join(c.cfg.BinDir, "keda-crd", "*.yaml"))
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("no KEDA CRDs in %s (hack/cluster-binaries.sh installs them)", filepath.Join(c.cfg.BinDir, "keda-crd"))
	}
	var all []byte
	for _, f := range crds {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		all = append(append(all, b...), []byte("\n---\n")...)
	}
	decoded, err := DecodeYAML(all)
	if err != nil {
		return err
	}
	if err := Apply(ctx, cl, decoded); err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KEDANamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", KEDANamespace, err)
	}
	p := c.cfg.Ports
	kc := c.path("pki", "keda.kubeconfig")
	certs := c.path("keda", "certs")
	env := []string{"KUBECONFIG=" + kc, "WATCH_NAMESPACE=", "POD_NAMESPACE=" + KEDANamespace,
		"KEDA_CLUSTER_OBJECT_NAMESPACE=" + KEDANamespace, "KEDA_HTTP_DEFAULT_TIMEOUT=3000"}
	err = c.startProcess(process{name: "keda-operator", bin: c.bin("keda-operator"), env: env, args: []string{
		"--leader-elect=false", "--zap-log-level=info", "--zap-encoder=console",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", p.KEDAOperatorMetrics),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", p.KEDAOperatorHealth),
		fmt.Sprintf("--metrics-service-bind-address=127.0.0.1:%d", p.KEDAOperatorGRPC),
		"--cert-dir=" + certs, "--ca-dir=" + certs, "--enable-cert-rotation=false",
		"--enable-webhook-patching=false", "--enable-apiservice-patching=false",
	}})
	if err != nil {
		return err
	}
	err = c.startProcess(process{name: "keda-adapter", bin: c.bin("keda-adapter"), env: env, args: []string{
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", p.KEDAAdapter),
		"--port=0",
		"--cert-dir=" + certs, "--tls-cert-file=" + filepath.Join(certs, "tls.crt"),
		"--tls-private-key-file=" + filepath.Join(certs, "tls.key"), "--client-ca-file=" + filepath.Join(certs, "ca.crt"),
		"--lister-kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		fmt.Sprintf("--metrics-service-address=127.0.0.1:%d", p.KEDAOperatorGRPC),
		"--zap-log-level=info", "--zap-encoder=console",
	}})
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "keda-metrics-apiserver", Namespace: KEDANamespace},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(443)}}}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "keda-metrics-apiserver", Namespace: KEDANamespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: "keda-metrics-apiserver", discoveryv1.LabelManagedBy: "wva-local-cluster"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{c.cfg.Network.NSIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		// The port name must equal the Service port's: the aggregator's resolver skips others.
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](443), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	apisvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.external.metrics.k8s.io"},
		"spec": map[string]any{"group": "external.metrics.k8s.io", "version": "v1beta1",
			"service":  map[string]any{"namespace": KEDANamespace, "name": "keda-metrics-apiserver", "port": int64(443)},
			"caBundle": base64.StdEncoding.EncodeToString(ca), "groupPriorityMinimum": int64(100), "versionPriority": int64(100)},
	}}
	for _, o := range []client.Object{svc, slice, apisvc} {
		if err := cl.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return poll(ctx, 120*time.Second, func() error {
		for _, n := range []string{"keda-operator", "keda-adapter"} {
			if _, ok := c.running(n); !ok {
				return &fatalError{fmt.Errorf("%s exited; see %s:\n%s", n, c.LogFile(n), Tail(c.LogFile(n), 20))}
			}
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(apisvc.GroupVersionKind())
		if err := cl.Get(ctx, client.ObjectKeyFromObject(apisvc), got); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, x := range conds {
			cond, _ := x.(map[string]any)
			if cond["type"] != "Available" {
				continue
			}
			if cond["status"] == "True" {
				return nil
			}
			return fmt.Errorf("APIService %s not available: %v: %v (logs: %s)", got.GetName(), cond["reason"],
				strings.TrimSpace(fmt.Sprint(cond["message"])), c.LogFile("keda-adapter"))
		}
		return fmt.Errorf("APIService %s has no Available condition yet", got.GetName())
	})
}
