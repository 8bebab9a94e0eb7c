package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Forward is one TCP forwarder: connections to From (inside the network namespace) are piped to
// To (on the host).
type Forward struct{ From, To string }

// ParseForward parses "FROM=TO".
func ParseForward(s string) (Forward, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Forward{}, fmt.Errorf("forward %q: want FROM_ADDR=TO_ADDR", s)
	}
	return Forward{From: from, To: to}, nil
}

// HelperOptions configure Serve.
type HelperOptions struct {
	Kubeconfig string
	// SDAddress serves GET /sd/pods (Prometheus http_sd) and /healthz.
	SDAddress string
	// Netns is the network namespace the forwarders listen in.
	Netns    string
	Forwards []Forward
}

// Serve runs the helper until ctx ends: the pods' http_sd, built from a pod informer with the
// __meta_kubernetes_pod_* labels kubernetes_sd would give, and the forwarders.
func Serve(ctx context.Context, o HelperOptions) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", o.Kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, f := range o.Forwards {
		l, err := ListenInNamespace(o.Netns, f.From)
		if err != nil {
			return err
		}
		go forward(ctx, l, f.To)
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	pods := factory.Core().V1().Pods().Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/sd/pods", func(w http.ResponseWriter, _ *http.Request) {
		list, err := pods.List(labels.Everything())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(podTargets(list))
	})
	srv := &http.Server{Addr: o.SDAddress, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serving http_sd on %s: %w", o.SDAddress, err)
	}
	return nil
}

// targetGroup is one http_sd entry.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// podTargets returns one target group per pod with an IP and a declared port.
func podTargets(pods []*corev1.Pod) []targetGroup {
	out := []targetGroup{}
	for _, p := range pods {
		port := p.Annotations["prometheus.io/port"]
		if p.Status.PodIP == "" || port == "" || p.DeletionTimestamp != nil {
			continue
		}
		ready := "false"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = "true"
			}
		}
		l := map[string]string{
			"__meta_kubernetes_namespace":                 p.Namespace,
			"__meta_kubernetes_pod_name":                  p.Name,
			"__meta_kubernetes_pod_ip":                    p.Status.PodIP,
			"__meta_kubernetes_pod_node_name":             p.Spec.NodeName,
			"__meta_kubernetes_pod_phase":                 string(p.Status.Phase),
			"__meta_kubernetes_pod_ready":                 ready,
			"__meta_kubernetes_pod_uid":                   string(p.UID),
			"__meta_kubernetes_pod_container_port_number": port,
		}
		for k, v := range p.Labels {
			l["__meta_kubernetes_pod_label_"+sanitize(k)] = v
		}
		for k, v := range p.Annotations {
			l["__meta_kubernetes_pod_annotation_"+sanitize(k)] = v
		}
		out = append(out, targetGroup{Targets: []string{net.JoinHostPort(p.Status.PodIP, port)}, Labels: l})
	}
	return out
}

// sanitize maps a label or annotation key to a Prometheus label name, as kubernetes_sd does.
func sanitize(k string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, k)
}

func forward(ctx context.Context, l net.Listener, to string) {
	go func() { <-ctx.Done(); _ = l.Close() }()
	for {
		in, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				log.Printf("forwarder %s: %v", l.Addr(), err)
			}
			return
		}
		go func() {
			defer in.Close()
			out, err := net.DialTimeout("tcp", to, 5*time.Second)
			if err != nil {
				log.Printf("forwarder %s -> %s: %v", l.Addr(), to, err)
				return
			}
			defer out.Close()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); closeWrite(out) }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); closeWrite(in) }()
			wg.Wait()
		}()
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
