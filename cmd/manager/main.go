package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	opts := DefaultOptions()
	opts.BindFlags(flag.CommandLine)
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	opts.ApplyEnv(os.Getenv)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	logger := ctrl.Log.WithName("setup")

	if err := opts.Validate(); err != nil {
		logger.Error(err, "Invalid options")
		os.Exit(2)
	}
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		logger.Error(err, "Loading the Kubernetes client configuration")
		os.Exit(1)
	}
	if err := run(ctrl.SetupSignalHandler(), opts, restCfg, os.Getenv); err != nil {
		logger.Error(err, "Manager stopped")
		os.Exit(1)
	}
}
