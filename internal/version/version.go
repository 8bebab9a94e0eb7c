// Package version holds the version and source revision stamped into the binaries at build
// time:
//
//	go build -ldflags "-X github.com/llm-d-incubation/workload-variant-autoscaler/internal/version.Version=v0.1.0 \
//	  -X github.com/llm-d-incubation/workload-variant-autoscaler/internal/version.Commit=$(git rev-parse HEAD)"
//
// Unstamped builds report "dev", and the VCS revision Go recorded in the binary when there is one.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set with -ldflags -X; they are variables for that reason only and are
// never written at run time.
var (
	Version = "dev"
	Commit  = ""
)

// Info is what a binary reports about its build.
type Info struct {
	Version   string
	Commit    string
	GoVersion string
}

// Get returns the stamped version; an unstamped commit falls back to the VCS revision in the
// build information ("unknown" when there is none, e.g. under -buildvcs=false).
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if info.Commit == "" {
		info.Commit = vcsRevision(debug.ReadBuildInfo)
	}
	return info
}

func vcsRevision(read func() (*debug.BuildInfo, bool)) string {
	bi, ok := read()
	if !ok {
		return "unknown"
	}
	rev, modified := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if modified {
		rev += "-dirty"
	}
	return rev
}

// String is the one line that --version prints, after the program's name.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}
