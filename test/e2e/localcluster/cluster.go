// Package localcluster runs a Kubernetes control plane on one machine without containers: etcd,
// kube-apiserver (RBAC, aggregation), kube-controller-manager, kube-scheduler, kwok (fake GPU
// nodes and pods), Prometheus (Debian's, with http_sd of the pods), and optionally the KEDA
// operator and metrics API server behind the API aggregator. Every process logs to
// <state>/logs/<name>.log; pids are kept in <state>/pids, so Stop can end them from another
// process (hack/local-cluster stop).
package localcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// GPUNode is one fake node with GPUs.
type GPUNode struct {
	// Name is the node name.
	Name string
	// Product is the nvidia.com/gpu.product label (e.g. NVIDIA-L4).
	Product string
	// GPUs is the nvidia.com/gpu capacity.
	GPUs int
}

// Ports of the components, all on 127.0.0.1.
type Ports struct {
	Etcd, EtcdPeer, APIServer, ControllerManager, Scheduler, Kwok, Prometheus, ServiceDiscovery int
	// KEDAAdapter is the KEDA metrics API server's secure port (the aggregator reaches it through
	// a forwarder in the network namespace); KEDAOperatorGRPC its link to the operator;
	// KEDAOperatorMetrics and KEDAOperatorHealth the operator's own endpoints.
	KEDAAdapter, KEDAOperatorGRPC, KEDAOperatorMetrics, KEDAOperatorHealth int
	// Manager is the port the WVA manager's secure metrics endpoint uses (Prometheus scrapes it).
	Manager int
	// PodMetrics is the port of every pod's metrics endpoint (the vLLM emulator's).
	PodMetrics int
}

// Config describes a local cluster.
type Config struct {
	// StateDir holds PKI, kubeconfigs, data, logs and pids.
	StateDir string
	// BinDir holds kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok and (with
	// KEDA) keda-operator, keda-adapter and keda-crd/ (hack/cluster-binaries.sh prints it).
	BinDir string
	// Prometheus is the prometheus binary; empty means "prometheus" on PATH.
	Prometheus string
	// Helper is the binary that serves the pods' http_sd and the forwarder into the network
	// namespace: hack/local-cluster, run as "<Helper> serve".
	Helper string
	// Network is the network namespace and addresses.
	Network Network
	// ServiceCIDR is the Service cluster IP range.
	ServiceCIDR string
	// Ports are the components' ports.
	Ports Ports
	// Nodes are the fake GPU nodes.
	Nodes []GPUNode
	// KEDA runs the KEDA operator and metrics API server.
	KEDA bool
	// HPASyncPeriod is the HPA controller's period (Kubernetes' default is 15 s).
	HPASyncPeriod time.Duration
	// ScrapeInterval is Prometheus' scrape interval.
	ScrapeInterval time.Duration
}

// DefaultConfig returns a configuration with the usual ports, a network namespace named
// wva-e2e (10.213.0.0/30, pods in 10.244.0.0/16) and four GPU nodes.
func DefaultConfig(stateDir, binDir string) Config {
	return Config{
		StateDir: stateDir, BinDir: binDir,
		Network: Network{Namespace: "wva-e2e", HostLink: "wvae2e0", NSLink: "wvae2e1",
			HostIP: "10.213.0.1", NSIP: "10.213.0.2", PodCIDR: "10.244.0.0/16"},
		ServiceCIDR: "10.96.0.0/16",
		Ports: Ports{Etcd: 2379, EtcdPeer: 2380, APIServer: 6443, ControllerManager: 10257, Scheduler: 10259,
			Kwok: 10247, Prometheus: 9090, ServiceDiscovery: 9091, KEDAAdapter: 6444, KEDAOperatorGRPC: 9666,
			KEDAOperatorMetrics: 9667, KEDAOperatorHealth: 9668, Manager: 8443, PodMetrics: 8000},
		Nodes: []GPUNode{
			{Name: "gpu-l4-0", Product: "NVIDIA-L4", GPUs: 16},
			{Name: "gpu-a100-0", Product: "NVIDIA-A100-SXM4-40GB", GPUs: 16},
			{Name: "gpu-h100-0", Product: "NVIDIA-H100-80GB-HBM3", GPUs: 2},
		},
		HPASyncPeriod:  5 * time.Second,
		ScrapeInterval: 2 * time.Second,
	}
}

// Cluster is a local cluster described by a Config.
type Cluster struct {
	cfg Config
}

// New returns the cluster of cfg; nothing is started.
func New(cfg Config) (*Cluster, error) {
	if cfg.StateDir == "" || cfg.BinDir == "" {
		return nil, errors.New("the state and bin directories must be set")
	}
	var err error
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return nil, err
	}
	if cfg.Prometheus == "" {
		cfg.Prometheus = "prometheus"
	}
	return &Cluster{cfg: cfg}, nil
}

// Config returns the cluster's configuration.
func (c *Cluster) Config() Config { return c.cfg }

func (c *Cluster) path(p ...string) string {
	return filepath.Join(append([]string{c.cfg.StateDir}, p...)...)
}

// AdminKubeconfig is the kubeconfig of a cluster administrator (system:masters).
func (c *Cluster) AdminKubeconfig() string { return c.path("kubeconfig") }

// APIServerURL is the API server's URL.
func (c *Cluster) APIServerURL() string {
	return fmt.Sprintf("https://127.0.0.1:%d", c.cfg.Ports.APIServer)
}

// PrometheusURL is Prometheus' URL.
func (c *Cluster) PrometheusURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", c.cfg.Ports.Prometheus)
}

// ManagerTokenFile is where the bearer token Prometheus uses to scrape the WVA manager goes.
func (c *Cluster) ManagerTokenFile() string { return c.path("prometheus-manager-token") }

// RESTConfig returns an administrator's client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", c.AdminKubeconfig(), err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.cfg.BinDir, name) }

// checkBinaries fails with the list of what is missing.
func (c *Cluster) checkBinaries() error {
	need := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
	if c.cfg.KEDA {
		need = append(need, "keda-operator", "keda-adapter")
	}
	var missing []string
	for _, b := range need {
		if fi, err := os.Stat(c.bin(b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, c.bin(b))
		}
	}
	if _, err := exec.LookPath(c.cfg.Prometheus); err != nil {
		missing = append(missing, c.cfg.Prometheus+" (apt-get install prometheus; hack/install-prometheus.sh)")
	}
	if c.cfg.Helper == "" {
		missing = append(missing, "the helper binary (hack/local-cluster)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing binaries (build them with hack/cluster-binaries.sh): %s", strings.Join(missing, ", "))
	}
	return nil
}

// Start brings the cluster up and returns once the nodes are Ready and Prometheus answers. On
// failure it stops what it started and says which log to read.
func (c *Cluster) Start(ctx context.Context) (err error) {
	if err := c.checkBinaries(); err != nil {
		return err
	}
	for _, d := range []string{"pki", "logs", "pids", "etcd", "prometheus", "keda/certs"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return fmt.Errorf("creating the state directory: %w", err)
		}
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	if err := c.cfg.Network.Setup(); err != nil {
		return err
	}
	if err := c.writePKI(); err != nil {
		return err
	}
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if err := c.startControllers(ctx); err != nil {
		return err
	}
	if err := c.createNodes(ctx, cs); err != nil {
		return err
	}
	if err := c.startKwok(); err != nil {
		return err
	}
	if err := c.startHelper(ctx); err != nil {
		return err
	}
	if err := c.StartPrometheus(ctx); err != nil {
		return err
	}
	if err := c.waitNodesReady(ctx, cs); err != nil {
		return err
	}
	if c.cfg.KEDA {
		if err := c.startKEDA(ctx, cs); err != nil {
			return err
		}
	}
	return nil
}

// components in start order.
var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
	"helper", "prometheus", "keda-operator", "keda-adapter"}

// Stop ends every component (in reverse start order) and removes the network namespace. The
// state directory stays, logs included.
func (c *Cluster) Stop() error {
	var errs []error
	names := append([]string{}, components...)
	// Components started by others under this state dir (vllm emulator, manager) first.
	if entries, err := os.ReadDir(c.path("pids")); err == nil {
		for _, e := range entries {
			n := strings.TrimSuffix(e.Name(), ".pid")
			if !contains(names, n) {
				names = append(names, n)
			}
		}
	}
	for i := len(names) - 1; i >= 0; i-- {
		if err := c.StopComponent(names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	c.cfg.Network.Teardown()
	return errors.Join(errs...)
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// ComponentStatus is one component's state.
type ComponentStatus struct {
	Name    string
	PID     int
	Running bool
	RSSMiB  float64
}

// Status lists every component with a pid file, and its memory.
func (c *Cluster) Status() []ComponentStatus {
	var out []ComponentStatus
	entries, _ := os.ReadDir(c.path("pids"))
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".pid")
		pid, ok := c.running(n)
		s := ComponentStatus{Name: n, PID: pid, Running: ok}
		if ok {
			s.RSSMiB, _ = rssMiB(pid)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Cluster) writePKI() error {
	dir := c.path("pki")
	ca, err := loadOrCreateCA(dir, "ca")
	if err != nil {
		return err
	}
	n := c.cfg.Network
	loop := net.ParseIP("127.0.0.1")
	svcIP, err := firstServiceIP(c.cfg.ServiceCIDR)
	if err != nil {
		return err
	}
	certs := map[string]certSpec{
		"apiserver": {cn: "kube-apiserver", server: true, ips: []net.IP{loop, net.ParseIP(n.HostIP), svcIP},
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		"admin":                   {cn: "admin", orgs: []string{"system:masters"}},
		"kube-controller-manager": {cn: "system:kube-controller-manager"},
		"kube-scheduler":          {cn: "system:kube-scheduler"},
		"kwok":                    {cn: "kwok", orgs: []string{"system:masters"}},
		"helper":                  {cn: "wva-local-cluster-helper", orgs: []string{"system:masters"}},
		"keda":                    {cn: "keda-operator", orgs: []string{"system:masters"}},
		"keda-serving": {cn: "keda-metrics-apiserver", server: true, ips: []net.IP{loop, net.ParseIP(n.NSIP)},
			dns: []string{"localhost", "keda-operator", "keda-operator.keda.svc", "keda-operator.keda.svc.cluster.local",
				"keda-metrics-apiserver.keda.svc", "keda-metrics-apiserver.keda.svc.cluster.local"}},
	}
	for name, s := range certs {
		if err := ca.issue(dir, name, s); err != nil {
			return err
		}
	}
	fp, err := loadOrCreateCA(dir, "front-proxy-ca")
	if err != nil {
		return err
	}
	if err := fp.issue(dir, "front-proxy-client", certSpec{cn: "front-proxy-client"}); err != nil {
		return err
	}
	if err := writeServiceAccountKey(dir); err != nil {
		return err
	}
	if err := writeKubeconfig(c.AdminKubeconfig(), c.APIServerURL(), dir, "admin"); err != nil {
		return err
	}
	for _, u := range []string{"kube-controller-manager", "kube-scheduler", "kwok", "helper", "keda"} {
		if err := writeKubeconfig(c.path("pki", u+".kubeconfig"), c.APIServerURL(), dir, u); err != nil {
			return err
		}
	}
	// KEDA's operator and adapter read tls.crt, tls.key and ca.crt from their cert dir (the
	// gRPC link between them is mutual TLS).
	for src, dst := range map[string]string{"keda-serving.crt": "tls.crt", "keda-serving.key": "tls.key", "ca.crt": "ca.crt"} {
		b, err := os.ReadFile(filepath.Join(dir, src))
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.path("keda", "certs", dst), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	ip := n.IP.To4()
	if ip == nil {
		return nil, fmt.Errorf("service CIDR %q is not IPv4", cidr)
	}
	out := make(net.IP, 4)
	copy(out, ip)
	out[3]++
	return out, nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	p := c.cfg.Ports
	err := c.startProcess(process{name: "etcd", bin: c.bin("etcd"), args: []string{
		"--data-dir=" + c.path("etcd"), "--name=local",
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", p.Etcd),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", p.Etcd),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", p.EtcdPeer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", p.EtcdPeer),
		fmt.Sprintf("--initial-cluster=local=http://127.0.0.1:%d", p.EtcdPeer),
		"--unsafe-no-fsync", "--log-level=warn",
	}})
	if err != nil {
		return err
	}
	return c.waitHTTP(ctx, "etcd", fmt.Sprintf("http://127.0.0.1:%d/health", p.Etcd), nil, 30*time.Second)
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	pki := func(f string) string { return c.path("pki", f) }
	err := c.startProcess(process{name: "kube-apiserver", bin: c.bin("kube-apiserver"), args: []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.cfg.Ports.Etcd),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", c.cfg.Ports.APIServer),
		"--advertise-address=" + c.cfg.Network.HostIP,
		"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
		"--client-ca-file=" + pki("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=" + c.cfg.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki("sa.pub"), "--service-account-signing-key-file=" + pki("sa.key"),
		"--requestheader-client-ca-file=" + pki("front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki("front-proxy-client.crt"), "--proxy-client-key-file=" + pki("front-proxy-client.key"),
		"--enable-aggregator-routing=true",
		"--profiling=false",
	}})
	if err != nil {
		return err
	}
	tlsCfg, err := c.adminTLS()
	if err != nil {
		return err
	}
	return c.waitHTTP(ctx, "kube-apiserver", c.APIServerURL()+"/readyz", tlsCfg, 60*time.Second)
}

func (c *Cluster) adminTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.path("pki", "admin.crt"), c.path("pki", "admin.key"))
	if err != nil {
		return nil, fmt.Errorf("loading the admin certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}, nil //nolint:gosec // local test cluster, own CA
}

func (c *Cluster) startControllers(ctx context.Context) error {
	kc := c.path("pki", "kube-controller-manager.kubeconfig")
	err := c.startProcess(process{name: "kube-controller-manager", bin: c.bin("kube-controller-manager"), args: []string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", c.cfg.Ports.ControllerManager),
		"--leader-elect=false", "--use-service-account-credentials=true",
		"--service-account-private-key-file=" + c.path("pki", "sa.key"), "--root-ca-file=" + c.path("pki", "ca.crt"),
		"--controllers=" + strings.Join([]string{"deployment-controller", "replicaset-controller",
			"horizontal-pod-autoscaler-controller", "garbage-collector-controller", "namespace-controller",
			"serviceaccount-controller", "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
			"endpointslice-controller", "pod-garbage-collector-controller", "node-lifecycle-controller"}, ","),
		"--horizontal-pod-autoscaler-sync-period=" + c.cfg.HPASyncPeriod.String(),
		"--cluster-cidr=" + c.cfg.Network.PodCIDR, "--service-cluster-ip-range=" + c.cfg.ServiceCIDR,
	}})
	if err != nil {
		return err
	}
	sk := c.path("pki", "kube-scheduler.kubeconfig")
	err = c.startProcess(process{name: "kube-scheduler", bin: c.bin("kube-scheduler"), args: []string{
		"--kubeconfig=" + sk, "--authentication-kubeconfig=" + sk, "--authorization-kubeconfig=" + sk,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", c.cfg.Ports.Scheduler), "--leader-elect=false",
	}})
	if err != nil {
		return err
	}
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // health endpoints of local components
	if err := c.waitHTTP(ctx, "kube-controller-manager", fmt.Sprintf("https://127.0.0.1:%d/healthz", c.cfg.Ports.ControllerManager), insecure, 60*time.Second); err != nil {
		return err
	}
	return c.waitHTTP(ctx, "kube-scheduler", fmt.Sprintf("https://127.0.0.1:%d/healthz", c.cfg.Ports.Scheduler), insecure, 60*time.Second)
}

// Labels of the fake GPU nodes.
const (
	LabelGPUProduct = "nvidia.com/gpu.product"
	LabelGPUCount   = "nvidia.com/gpu.count"
	ResourceGPU     = corev1.ResourceName("nvidia.com/gpu")
	// AnnotationKwokNode marks the nodes kwok manages.
	AnnotationKwokNode = "kwok.x-k8s.io/node"
	// AnnotationReadyDelay is the pod annotation that sets how long a pod takes to become Ready
	// after it starts (the model-load delay), in the Go duration format ("45s").
	AnnotationReadyDelay = "pod-ready.stage.kwok.x-k8s.io/delay"
)

func (c *Cluster) createNodes(ctx context.Context, cs kubernetes.Interface) error {
	for i, n := range c.cfg.Nodes {
		res := corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"),
			corev1.ResourcePods: resource.MustParse("110"), ResourceGPU: *resource.NewQuantity(int64(n.GPUs), resource.DecimalSI),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name,
				Annotations: map[string]string{AnnotationKwokNode: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"type": "kwok", LabelGPUProduct: n.Product, LabelGPUCount: strconv.Itoa(n.GPUs), "nvidia.com/gpu.present": "true"}},
			Spec:   corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.244.%d.0/24", i+1), PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", i+1)}},
			Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
	}
	return nil
}

func (c *Cluster) startKwok() error {
	if err := os.WriteFile(c.path("kwok.yaml"), []byte(kwokConfig), 0o644); err != nil {
		return err
	}
	return c.startProcess(process{name: "kwok", bin: c.bin("kwok"), args: []string{
		"--kubeconfig=" + c.path("pki", "kwok.kubeconfig"), "--config=" + c.path("kwok.yaml"),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + AnnotationKwokNode + "=fake",
		"--node-ip=" + c.cfg.Network.HostIP, fmt.Sprintf("--server-address=127.0.0.1:%d", c.cfg.Ports.Kwok),
		"--cidr=" + c.cfg.Network.PodCIDR,
	}})
}

func (c *Cluster) startHelper(ctx context.Context) error {
	args := []string{"serve", "--kubeconfig=" + c.path("pki", "helper.kubeconfig"),
		fmt.Sprintf("--sd-address=127.0.0.1:%d", c.cfg.Ports.ServiceDiscovery)}
	if c.cfg.KEDA {
		args = append(args, "--netns="+c.cfg.Network.Namespace,
			fmt.Sprintf("--forward=%s:443=127.0.0.1:%d", c.cfg.Network.NSIP, c.cfg.Ports.KEDAAdapter))
	}
	if err := c.startProcess(process{name: "helper", bin: c.cfg.Helper, args: args}); err != nil {
		return err
	}
	return c.waitHTTP(ctx, "helper", fmt.Sprintf("http://127.0.0.1:%d/healthz", c.cfg.Ports.ServiceDiscovery), nil, 30*time.Second)
}

// StartPrometheus (re)starts Prometheus with the cluster's configuration and waits until it is
// ready. Its data directory is kept across restarts.
func (c *Cluster) StartPrometheus(ctx context.Context) error {
	if err := os.WriteFile(c.path("prometheus.yml"), []byte(c.prometheusConfig()), 0o644); err != nil {
		return err
	}
	if _, err := os.Stat(c.ManagerTokenFile()); err != nil {
		if err := os.WriteFile(c.ManagerTokenFile(), []byte("none"), 0o600); err != nil {
			return err
		}
	}
	err := c.startProcess(process{name: "prometheus", bin: c.cfg.Prometheus, args: []string{
		"--config.file=" + c.path("prometheus.yml"), "--storage.tsdb.path=" + c.path("prometheus"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", c.cfg.Ports.Prometheus), "--web.enable-lifecycle",
		"--storage.tsdb.retention.time=1d",
	}})
	if err != nil {
		return err
	}
	return c.waitHTTP(ctx, "prometheus", c.PrometheusURL()+"/-/ready", nil, 60*time.Second)
}

// StopPrometheus stops Prometheus (a scenario does, to test the loss of metrics).
func (c *Cluster) StopPrometheus() error { return c.StopComponent("prometheus") }

func (c *Cluster) waitNodesReady(ctx context.Context, cs kubernetes.Interface) error {
	return poll(ctx, 60*time.Second, func() error {
		for _, n := range c.cfg.Nodes {
			node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready := false
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			if !ready {
				return fmt.Errorf("node %s is not Ready (see %s)", n.Name, c.LogFile("kwok"))
			}
			for _, t := range node.Spec.Taints {
				if t.Key == corev1.TaintNodeNotReady {
					return fmt.Errorf("node %s still has the taint %s (see %s)", n.Name, t.Key, c.LogFile("kube-controller-manager"))
				}
			}
		}
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("the default ServiceAccount: %w", err)
		}
		return nil
	})
}

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// waitHTTP polls url until it answers 200, the component dies or timeout passes.
func (c *Cluster) waitHTTP(ctx context.Context, name, url string, tlsCfg *tls.Config, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	return poll(ctx, timeout, func() error {
		if _, ok := c.running(name); !ok {
			return &fatalError{fmt.Errorf("%s exited; see %s:\n%s", name, c.LogFile(name), Tail(c.LogFile(name), 15))}
		}
		resp, err := hc.Get(url)
		if err != nil {
			return fmt.Errorf("%s: %w (log: %s)", name, err, c.LogFile(name))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s answers %s (log: %s)", name, url, resp.Status, c.LogFile(name))
		}
		return nil
	})
}

type fatalError struct{ error }

// poll runs f every 100 ms until it succeeds, fails with a fatalError, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			return fe.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Tail returns the last n lines of a file ("" when it cannot be read).
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
