package promsource

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// BenchmarkCollect is one collection cycle over n variants (5 per model, one ready pod each,
// spread over 4 namespaces) with realistic pods and Deployments (full specs). Prometheus is an
// in-process fake answering every query with a precomputed vector: what is measured is the
// collector's own work, the join of the series to the variants. read=pointers reads the pods
// and Deployments as the manager does, through the informer lister over client-go indexers
// (the informers' own, minus the watch); read=list lists them through client.Reader from an
// in-memory stand-in for the informer cache, which copies each object's struct into the list
// as the cache's List does (and deep-copies too unless asked not to).
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("variants=%d", n), func(b *testing.B) {
			fx := newCollectFixture(n)
			for _, read := range []struct {
				name string
				src  *Source
			}{
				{"pointers", New(fx.api, fx.reader, WithNamespaceLister(fx.lister))},
				{"list", New(fx.api, fx.reader)},
			} {
				b.Run("read="+read.name, func(b *testing.B) { benchmarkCollect(b, fx, read.src) })
			}
		})
	}
}

// benchmarkCollect measures src.Collect over fx after checking that it attributes every pod.
func benchmarkCollect(b *testing.B, fx collectFixture, src *Source) {
	ctx := context.Background()
	snap, err := src.Collect(ctx, fx.targets, fx.now)
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range fx.targets { // the join must attribute every pod
		if o := snap.Variants[t.VariantAutoscaling]; !o.Metrics.Available || len(o.Pods) != 1 || o.Pods[0].MeanPrefillSeconds == 0 || o.Pods[0].ITLMedianSeconds == 0 {
			b.Fatalf("%s: %+v", t.VariantAutoscaling, o)
		}
	}
	runtime.GC() // the fixture's garbage is not the collector's
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := src.Collect(ctx, fx.targets, fx.now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time (user + system) the process has used, in nanoseconds; it
// includes the garbage collector's work on other threads.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

type collectFixture struct {
	targets []collector.Target
	api     *vectorAPI
	reader  *memReader
	lister  NamespaceLister // the reader's objects, by pointer
	now     time.Time
}

const (
	benchNamespaces       = 4
	benchVariantsPerModel = 5
)

func newCollectFixture(n int) collectFixture {
	now := time.Unix(1_800_000_000, 0)
	fx := collectFixture{now: now, api: &vectorAPI{byQuery: map[string]model.Vector{}},
		reader: &memReader{deployments: map[types.NamespacedName]*appsv1.Deployment{}, pods: map[string][]corev1.Pod{}}}
	// The series of each query, built below as a decoded response would be laid out: one
	// query's samples and label sets allocated together, each sample with its own label set.
	series := map[string][]model.Metric{}
	models := map[collector.ModelKey]bool{}
	for i := range n {
		ns := "team-" + strconv.Itoa(i%benchNamespaces)
		modelID := "org/model-" + strconv.Itoa(i/benchVariantsPerModel)
		name := "vllm-" + strconv.Itoa(i)
		dep := benchDeployment(ns, name)
		fx.reader.deployments[types.NamespacedName{Namespace: ns, Name: name}] = dep
		pod := benchPod(dep, modelID, now)
		fx.reader.pods[ns] = append(fx.reader.pods[ns], *pod)
		fx.targets = append(fx.targets, collector.Target{VariantAutoscaling: types.NamespacedName{Namespace: ns, Name: name},
			ModelID: modelID, Deployment: name})

		m := model.Metric{labelNamespace: model.LabelValue(ns), labelPod: model.LabelValue(pod.Name), labelModelName: model.LabelValue(modelID)}
		add := func(q string, m model.Metric) { series[q] = append(series[q], m) }
		add(QueryKvCacheUsage, m)
		add(QueryRequestsWaiting, m)
		add(QueryRequestsRunning, m)
		add(QueryLastSample, m)
		// Each pod's decode and prefill points, as a pod that served in the window reports.
		for _, q := range []string{QueryRunningMean, QueryITLMedian, QueryPrefillMean, QueryPodPromptMean, QueryPodFinishRate} {
			add(q, m)
		}
		add(QueryKvCacheBlocks, model.Metric{labelNamespace: model.LabelValue(ns), labelPod: model.LabelValue(pod.Name),
			labelEngine: "0", labelNumGPUBlocks: "8192", labelBlockSize: "16"})
		mk := collector.ModelKey{Namespace: ns, ModelID: modelID}
		if models[mk] {
			continue
		}
		models[mk] = true
		pm := model.Metric{labelNamespace: model.LabelValue(ns), labelModelName: model.LabelValue(modelID)}
		for q := range signalSource {
			add(q, pm)
		}
		for _, q := range []string{QueryTTFTBuckets, QueryITLBuckets} {
			for _, le := range benchBuckets {
				bm := pm.Clone()
				bm[labelLE] = model.LabelValue(le)
				add(q, bm)
			}
		}
	}
	fx.lister = fx.reader.indexed()
	results := make(map[string]model.Vector, len(series))
	for q, ms := range series {
		results[q] = benchVector(q, ms, now)
	}
	sel := SelectorFor(fx.targets)
	for _, q := range append(BuildQueries(sel, DefaultWindow), BuildModelQueries(sel, DefaultWindow, DefaultGatewayMetric)...) {
		fx.api.byQuery[q.PromQL] = results[q.Name]
		if fx.api.byQuery[q.PromQL] == nil {
			fx.api.byQuery[q.PromQL] = model.Vector{}
		}
	}
	return fx
}

var benchBuckets = []string{"0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"}

// benchVector returns the vector of query q with one sample per label set of ms, allocated
// together with fresh label sets as the client's decoder allocates a response: the samples of
// one query lie side by side in memory, not among the pods and Deployments of the fixture.
func benchVector(q string, ms []model.Metric, now time.Time) model.Vector {
	samples := make([]model.Sample, len(ms))
	vec := make(model.Vector, len(ms))
	for i, m := range ms {
		v := 1.5
		switch q {
		case QueryKvCacheUsage:
			v = 0.4
		case QueryRequestsWaiting:
			v = 2
		case QueryRequestsRunning:
			v = 8
		case QueryLastSample:
			v = float64(now.Add(-10 * time.Second).Unix())
		case QueryKvCacheBlocks:
			v = 1
		case QueryRunningMean:
			v = 6
		case QueryITLMedian:
			v = 0.012
		case QueryPrefillMean:
			v = 0.08
		case QueryPodPromptMean:
			v = 1200
		case QueryPodFinishRate:
			v = 0.5
		case QueryTTFTBuckets, QueryITLBuckets:
			v = float64(10 * (1 + slices.Index(benchBuckets, string(m[labelLE]))))
		}
		samples[i] = model.Sample{Metric: m.Clone(), Value: model.SampleValue(v), Timestamp: model.TimeFromUnix(now.Unix())}
		vec[i] = &samples[i]
	}
	return vec
}

func benchDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name, "llm-d.ai/role": "decode"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), Generation: 3,
			Labels: labels, Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: benchPodSpec(name)},
		},
		Status: appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1, ObservedGeneration: 3},
	}
}

func benchPodSpec(name string) corev1.PodSpec {
	var env []corev1.EnvVar
	for _, kv := range [][2]string{{"VLLM_PORT", "8000"}, {"HF_HOME", "/models/cache"}, {"VLLM_LOGGING_LEVEL", "INFO"},
		{"CUDA_VISIBLE_DEVICES", "0"}, {"NCCL_DEBUG", "WARN"}, {"VLLM_USE_V1", "1"}, {"OMP_NUM_THREADS", "8"}} {
		env = append(env, corev1.EnvVar{Name: kv[0], Value: kv[1]})
	}
	env = append(env, corev1.EnvVar{Name: "HF_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "hf-token"}, Key: "token"}}})
	gpu := corev1.ResourceName("nvidia.com/gpu")
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("64Gi"), gpu: resource.MustParse("1")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Gi"), gpu: resource.MustParse("1")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8000)}},
		PeriodSeconds: 10, FailureThreshold: 3}
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "vllm", Image: "vllm/vllm-openai:v0.11.0",
			Args:  []string{"--model", "org/" + name, "--port", "8000", "--max-model-len", "32768", "--gpu-memory-utilization", "0.9"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000, Protocol: corev1.ProtocolTCP}},
			Env:   env, Resources: res, ReadinessProbe: probe, LivenessProbe: probe,
			VolumeMounts: []corev1.VolumeMount{{Name: "models", MountPath: "/models"}, {Name: "shm", MountPath: "/dev/shm"},
				{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
		}},
		Volumes: []corev1.Volume{
			{Name: "models", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "models"}}},
			{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(3607))}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
					Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			}}}},
		},
		NodeSelector: map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
		Tolerations:  []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
}

func benchPod(dep *appsv1.Deployment, modelID string, now time.Time) *corev1.Pod {
	rs := dep.Name + "-7c9d8f6b5"
	labels := map[string]string{"pod-template-hash": "7c9d8f6b5", "llm-d.ai/model": "model"}
	for k, v := range dep.Spec.Template.Labels {
		labels[k] = v
	}
	started := metav1.NewTime(now.Add(-time.Hour))
	var conds []corev1.PodCondition
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		conds = append(conds, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: started})
	}
	spec := *dep.Spec.Template.Spec.DeepCopy()
	spec.NodeName = "gpu-node-1"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: dep.Namespace, Name: rs + "-x2k4p", UID: types.UID("pod-" + dep.Name),
			Labels: labels, Annotations: map[string]string{"llm-d.ai/model-id": modelID},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs,
				UID: types.UID("rs-" + dep.Name), Controller: new(true), BlockOwnerDeletion: new(true)}}},
		Spec: spec,
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: conds, PodIP: "10.0.0.1", HostIP: "192.168.0.1", StartTime: &started,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "vllm", Ready: true, Started: new(true), Image: "vllm/vllm-openai:v0.11.0",
				ContainerID: "containerd://abc", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}},
	}
}

// vectorAPI answers each query with a precomputed vector, looked up by its PromQL text.
type vectorAPI struct{ byQuery map[string]model.Vector }

func (a *vectorAPI) Query(_ context.Context, q string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	v, ok := a.byQuery[q]
	if !ok {
		return nil, nil, nil, fmt.Errorf("unexpected query %.80q", q)
	}
	return v, nil, nil, nil
}

// memReader serves Get of Deployments and List of Pods and Deployments from memory. Like the
// informer cache it deep-copies what it returns unless the caller passes
// client.UnsafeDisableDeepCopy.
type memReader struct {
	deployments map[types.NamespacedName]*appsv1.Deployment
	pods        map[string][]corev1.Pod
}

func (r *memReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	var o client.GetOptions
	o.ApplyOptions(opts)
	dep, ok := obj.(*appsv1.Deployment)
	if !ok {
		return fmt.Errorf("memReader: Get of %T", obj)
	}
	d := r.deployments[key]
	if d == nil {
		return apierrors.NewNotFound(appsv1.Resource("deployments"), key.Name)
	}
	if o.UnsafeDisableDeepCopy != nil && *o.UnsafeDisableDeepCopy {
		*dep = *d
	} else {
		d.DeepCopyInto(dep)
	}
	return nil
}

func (r *memReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var o client.ListOptions
	o.ApplyOptions(opts)
	unsafe := o.UnsafeDisableDeepCopy != nil && *o.UnsafeDisableDeepCopy
	switch l := list.(type) {
	case *corev1.PodList:
		pods := r.pods[o.Namespace]
		l.Items = make([]corev1.Pod, len(pods))
		for i := range pods {
			if unsafe {
				l.Items[i] = pods[i]
			} else {
				pods[i].DeepCopyInto(&l.Items[i])
			}
		}
	case *appsv1.DeploymentList:
		l.Items = make([]appsv1.Deployment, 0, len(r.pods[o.Namespace])) // one pod per Deployment
		for k, d := range r.deployments {
			if k.Namespace != o.Namespace {
				continue
			}
			if unsafe {
				l.Items = append(l.Items, *d)
			} else {
				l.Items = append(l.Items, *d.DeepCopy())
			}
		}
	default:
		return fmt.Errorf("memReader: List of %T", list)
	}
	return nil
}

// indexed returns an informer lister over client-go indexers holding the reader's objects, as
// the informers' indexers hold the cache's: the lister's code and the indexer's namespace index
// are the manager's; only the watch that would fill the indexers is left out.
func (r *memReader) indexed() NamespaceLister {
	newIndexer := func() toolscache.Indexer {
		return toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc,
			toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	}
	pods, deployments := newIndexer(), newIndexer()
	for _, nsPods := range r.pods {
		for i := range nsPods {
			if err := pods.Add(&nsPods[i]); err != nil {
				panic(err)
			}
		}
	}
	for _, d := range r.deployments {
		if err := deployments.Add(d); err != nil {
			panic(err)
		}
	}
	return informerLister{pods: syncedIndexer{pods}, deployments: syncedIndexer{deployments}}
}

// syncedIndexer is an informer that has synced into its indexer.
type syncedIndexer struct{ indexer toolscache.Indexer }

func (syncedIndexer) HasSynced() bool                  { return true }
func (s syncedIndexer) GetIndexer() toolscache.Indexer { return s.indexer }
