// Command local-cluster starts, stops and inspects a local Kubernetes control plane without
// containers (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok GPU nodes,
// Prometheus with http_sd, optionally KEDA), all state under one directory:
//
//	local-cluster start  [--state-dir DIR] [--bin-dir DIR] [--keda]
//	local-cluster status [--state-dir DIR]
//	local-cluster stop   [--state-dir DIR] [--purge]
//	local-cluster vllm   [--state-dir DIR]      # the vLLM emulator (see test/e2e/vllmemu)
//
// The bin directory is what hack/cluster-binaries.sh prints. "serve" is the helper process the
// cluster starts itself (http_sd of the pods, forwarders into the network namespace).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "local-cluster:", err)
		if errors.Is(err, localcluster.ErrNetnsUnavailable) {
			fmt.Fprintln(os.Stderr, "local-cluster: this machine does not allow network namespaces; run as root outside an unprivileged container")
		}
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: local-cluster start|stop|status|vllm [flags]; see -h of each")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	stateDir := fs.String("state-dir", "out/local-cluster", "State directory (PKI, data, logs, pids).")
	binDir := fs.String("bin-dir", os.Getenv("WVA_CLUSTER_BIN"), "Directory of the cluster binaries (hack/cluster-binaries.sh prints it).")
	keda := fs.Bool("keda", false, "Run the KEDA operator and metrics API server.")
	netns := fs.String("netns", "wva-e2e", "Name of the network namespace to create.")
	purge := fs.Bool("purge", false, "stop: also delete the state directory.")
	kubeconfig := fs.String("kubeconfig", "", "serve/vllm: kubeconfig.")
	sdAddr := fs.String("sd-address", "127.0.0.1:9091", "serve: http_sd address.")
	var forwards stringList
	fs.Var(&forwards, "forward", "serve: FROM=TO, FROM inside --netns (repeatable).")
	vllmControl := fs.String("control-address", "127.0.0.1:9092", "vllm: control API address.")
	vllmPort := fs.Int("pod-port", 8000, "vllm: the pods' metrics port (inside the network namespace).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg := localcluster.DefaultConfig(*stateDir, *binDir)
	cfg.KEDA = *keda
	cfg.Network.Namespace = *netns
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Helper = self

	switch cmd {
	case "start":
		if *binDir == "" {
			return errors.New("--bin-dir (or WVA_CLUSTER_BIN) is required: BIN=$(hack/cluster-binaries.sh)")
		}
		c, err := localcluster.New(cfg)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("%w\nlogs: %s/logs", err, c.Config().StateDir)
		}
		fmt.Printf("cluster up in %.1fs\n  export KUBECONFIG=%s\n  Prometheus: %s\n  logs: %s/logs\n  stop: local-cluster stop --state-dir %s\n",
			time.Since(t0).Seconds(), c.AdminKubeconfig(), c.PrometheusURL(), c.Config().StateDir, c.Config().StateDir)
		return nil
	case "stop":
		c, err := localcluster.New(cfg)
		if err != nil {
			cfg.BinDir = "-"
			if c, err = localcluster.New(cfg); err != nil {
				return err
			}
		}
		err = c.Stop()
		if *purge {
			if rmErr := os.RemoveAll(c.Config().StateDir); rmErr != nil {
				err = errors.Join(err, rmErr)
			}
		}
		return err
	case "status":
		cfg.BinDir = "-"
		c, err := localcluster.New(cfg)
		if err != nil {
			return err
		}
		fmt.Printf("%-26s %8s %8s %9s\n", "COMPONENT", "PID", "RUNNING", "RSS(MiB)")
		for _, s := range c.Status() {
			fmt.Printf("%-26s %8d %8v %9.1f\n", s.Name, s.PID, s.Running, s.RSSMiB)
		}
		return nil
	case "serve":
		var fw []localcluster.Forward
		for _, f := range forwards {
			x, err := localcluster.ParseForward(f)
			if err != nil {
				return err
			}
			fw = append(fw, x)
		}
		return localcluster.Serve(ctx, localcluster.HelperOptions{Kubeconfig: *kubeconfig, SDAddress: *sdAddr, Netns: *netns, Forwards: fw})
	case "vllm":
		kc := *kubeconfig
		if kc == "" {
			kc = *stateDir + "/kubeconfig"
		}
		return vllmemu.Run(ctx, vllmemu.Options{Kubeconfig: kc, Netns: *netns,
			PodAddress: fmt.Sprintf("0.0.0.0:%d", *vllmPort), ControlAddress: *vllmControl})
	}
	return usage()
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
