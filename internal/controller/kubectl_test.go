package controller

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestKubectl runs the real kubectl against the suite's API server, when it is installed:
// `kubectl wait --for=condition=Ready` returns for a working variant and times out for one
// whose target is missing, and `kubectl get va` prints the columns.
func TestKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	ctx := context.Background()
	ns := newNamespace(t)
	_, ready := createDecided(t, testutil.Deployment("ready").Namespace(ns).Obj(), 2)
	waitReady(t, client.ObjectKeyFromObject(ready), metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling)
	// A bounded variant whose HPA WVA owns (spec.scaler).
	owned := scalerVA(t, ns, "llama", wvav1alpha1.ScalerHPA, 1, 8)
	waitCached(t, client.ObjectKeyFromObject(owned))
	decisions.Set(owned.Name, ns, interfaces.VariantDecision{TargetReplicas: 3, AcceleratorName: "L4", MetricsAvailable: true})
	common.TriggerReconcile(trigger, owned)
	waitReady(t, client.ObjectKeyFromObject(owned), metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling)
	orphan := testutil.VariantAutoscaling("orphan").Namespace(ns).Target("nowhere").Obj()
	if err := k8sClient.Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	waitReady(t, client.ObjectKeyFromObject(orphan), metav1.ConditionFalse, wvav1alpha1.ReasonTargetNotFound)

	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: restCfg.Host, CertificateAuthorityData: restCfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: restCfg.CertData,
		ClientKeyData: restCfg.KeyData, Token: restCfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest", Namespace: ns}
	kc.CurrentContext = "envtest"
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		return string(out), err
	}

	if out, err := run("wait", "--for=condition=Ready", "va/ready", "--timeout=10s"); err != nil {
		t.Errorf("kubectl wait for the ready variant: %v\n%s", err, out)
	}
	if out, err := run("wait", "--for=condition=Ready", "va/orphan", "--timeout=1s"); err == nil {
		t.Errorf("kubectl wait returned for the variant without a target:\n%s", out)
	}
	out, err := run("get", "va")
	if err != nil {
		t.Fatalf("kubectl get va: %v\n%s", err, out)
	}
	// The closing evidence of issue 11: `go test -v -run TestKubectl ./internal/controller/`
	// prints what a user sees.
	t.Logf("$ kubectl get va\n%s", out)
	if wide, err := run("get", "va", "-o", "wide"); err != nil {
		t.Errorf("kubectl get va -o wide: %v\n%s", err, wide)
	} else {
		t.Logf("$ kubectl get va -o wide\n%s", wide)
	}
	if hpas, err := run("get", "hpa", "-L", ScalerVariantLabel); err != nil {
		t.Errorf("kubectl get hpa: %v\n%s", err, hpas)
	} else {
		t.Logf("$ kubectl get hpa -L %s\n%s", ScalerVariantLabel, hpas)
	}
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	want := []string{"NAME", "TARGET", "MODEL", "MIN", "MAX", "CURRENT", "DESIRED", "READY", "REASON", "AGE"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("kubectl get va header %q, want %q", header, want)
	}
	for _, s := range []string{"Autoscaling", "TargetNotFound"} {
		if !strings.Contains(out, s) {
			t.Errorf("kubectl get va does not show %s:\n%s", s, out)
		}
	}
	out, err = run("describe", "va", "orphan")
	if err != nil {
		t.Fatalf("kubectl describe: %v\n%s", err, out)
	}
	if !strings.Contains(out, "TargetResolved is False: Deployment nowhere does not exist") {
		t.Errorf("kubectl describe does not say why the variant is not ready:\n%s", out)
	}
}
