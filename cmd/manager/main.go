package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/version"
)

func main() {
	opts := DefaultOptions()
	opts.BindFlags(flag.CommandLine)
	zapOpts := bindLogFlags(flag.CommandLine)
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	flag.Parse()
	if *showVersion {
		fmt.Println("manager", version.Get())
		return
	}
	opts.ApplyEnv(os.Getenv)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(zapOpts)))
	logger := ctrl.Log.WithName("setup")
	v := version.Get()
	logger.Info("Starting the manager", "version", v.Version, "commit", v.Commit, "goVersion", v.GoVersion)

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

// bindLogFlags registers controller-runtime's --zap-* flags on fs. The defaults are for
// production: JSON lines at info level, no development mode (--zap-devel=false); a developer
// asks for console output with --zap-devel.
func bindLogFlags(fs *flag.FlagSet) *zap.Options {
	o := &zap.Options{Development: false}
	o.BindFlags(fs)
	return o
}
