package localcluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodTargets(t *testing.T) {
	pod := func(name, ip, port string, ready bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/name": "x"}},
			Status: corev1.PodStatus{PodIP: ip}}
		if port != "" {
			p.Annotations = map[string]string{"prometheus.io/port": port, "prometheus.io/scrape": "true"}
		}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		return p
	}
	got := podTargets([]*corev1.Pod{pod("a", "10.244.1.1", "8000", true), pod("no-ip", "", "8000", true),
		pod("no-port", "10.244.1.2", "", true), pod("b", "10.244.1.3", "8000", false)})
	if len(got) != 2 {
		t.Fatalf("got %d targets, want 2: %+v", len(got), got)
	}
	a := got[0]
	if a.Targets[0] != "10.244.1.1:8000" || a.Labels["__meta_kubernetes_pod_name"] != "a" || a.Labels["__meta_kubernetes_namespace"] != "ns" ||
		a.Labels["__meta_kubernetes_pod_ready"] != "true" || a.Labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] != "true" ||
		a.Labels["__meta_kubernetes_pod_label_app_kubernetes_io_name"] != "x" {
		t.Errorf("target a: %+v", a)
	}
	if got[1].Labels["__meta_kubernetes_pod_ready"] != "false" {
		t.Errorf("target b should not be ready: %+v", got[1])
	}
}

func TestParseForward(t *testing.T) {
	f, err := ParseForward("10.213.0.2:443=127.0.0.1:6444")
	if err != nil || f.From != "10.213.0.2:443" || f.To != "127.0.0.1:6444" {
		t.Fatalf("got %+v, %v", f, err)
	}
	for _, bad := range []string{"", "a", "=b", "a="} {
		if _, err := ParseForward(bad); err == nil {
			t.Errorf("ParseForward(%q) accepted", bad)
		}
	}
}
