package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVCSRevision(t *testing.T) {
	tests := map[string]struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		"no build info": {ok: false, want: "unknown"},
		"no vcs":        {bi: &debug.BuildInfo{}, ok: true, want: "unknown"},
		"clean": {bi: &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}},
			ok: true, want: "abc"},
		"modified": {bi: &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}}, ok: true, want: "abc-dirty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := vcsRevision(func() (*debug.BuildInfo, bool) { return tc.bi, tc.ok })
			if got != tc.want {
				t.Errorf("vcsRevision = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGetUnstamped(t *testing.T) {
	info := Get()
	if info.Version != "dev" {
		t.Errorf("Version = %q, want dev", info.Version)
	}
	if info.Commit == "" || !strings.HasPrefix(info.GoVersion, "go") {
		t.Errorf("Get() = %+v: want a commit and a Go version", info)
	}
	if s := info.String(); !strings.Contains(s, "dev") || !strings.Contains(s, info.Commit) {
		t.Errorf("String() = %q", s)
	}
}
