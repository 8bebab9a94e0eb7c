package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	versionPkg   = "github.com/llm-d-incubation/workload-variant-autoscaler/internal/version"
	testVersion  = "v9.8.7-test"
	testRevision = "0123456789abcdef"
	testRef      = "example.test/wva/manager:" + testVersion
)

// buildManager builds the static, version-stamped manager as `make image` does.
func buildManager(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X "+versionPkg+".Version="+testVersion+" -X "+versionPkg+".Commit="+testRevision,
		"-o", out, "../../cmd/manager")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestImage builds the image twice from one binary, checks that both layouts and the tarball
// carry the same digest, then opens the layout and checks the config, the files and the binary.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("runs the linux binary from the image")
	}
	bin := buildManager(t)
	spec := Spec{
		Binary:   bin,
		CABundle: []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"),
		Version:  testVersion,
		Revision: testRevision,
		Arch:     runtime.GOARCH,
		Epoch:    time.Unix(1700000000, 0),
	}
	dir := t.TempDir()
	var digests []v1.Hash
	var indexes [][]byte
	for _, name := range []string{"a", "b"} {
		img, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteLayout(filepath.Join(dir, name), img, testRef); err != nil {
			t.Fatal(err)
		}
		index, err := os.ReadFile(filepath.Join(dir, name, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, index)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] || !bytes.Equal(indexes[0], indexes[1]) {
		t.Fatalf("two builds of the same input differ: %s vs %s", digests[0], digests[1])
	}
	t.Logf("image digest %s", digests[0])

	img := openLayout(t, filepath.Join(dir, "a"))
	if d, _ := img.Digest(); d != digests[0] {
		t.Errorf("layout holds %s, built %s", d, digests[0])
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/manager"}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if cfg.Config.User != "65532:65532" || cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH || len(cfg.Config.Cmd) != 0 {
		t.Errorf("config user %q os %q arch %q cmd %q", cfg.Config.User, cfg.OS, cfg.Architecture, cfg.Config.Cmd)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   DefaultSource,
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	for k, v := range wantLabels {
		if cfg.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Config.Labels[k], v)
		}
	}

	files := extract(t, img)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "bin/") || strings.HasPrefix(n, "usr/") || strings.HasSuffix(n, "/sh") {
			t.Errorf("image holds %s: want no shell or userland", n)
		}
	}
	if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"], spec.CABundle) {
		t.Error("CA bundle missing or changed")
	}
	if !bytes.Equal(files["manager"], bin) {
		t.Fatal("manager binary missing or changed")
	}
	exe := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(exe, files["manager"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("manager --version: %v\n%s", err, out)
	}
	if got := string(out); !strings.Contains(got, testVersion) || !strings.Contains(got, testRevision) {
		t.Errorf("manager --version printed %q, want %s and %s", got, testVersion, testRevision)
	}

	tarFile := filepath.Join(dir, "manager.tar")
	if err := WriteTarball(tarFile, img, testRef); err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(tarFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A docker tarball stores the manifest in Docker's media types: compare the config.
	gotCfg, _ := fromTar.ConfigName()
	wantCfg, _ := img.ConfigName()
	if gotCfg != wantCfg {
		t.Errorf("tarball holds config %s, built %s", gotCfg, wantCfg)
	}
}

func openLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testRef {
		t.Fatalf("layout index = %+v, want one image named %s", m.Manifests, testRef)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// extract returns the image's flattened file system: regular files by path.
func extract(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.ModTime.Unix() != 1700000000 {
			t.Errorf("%s has mtime %s, want the epoch", hdr.Name, hdr.ModTime)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b
	}
	return files
}

func TestSpecValidate(t *testing.T) {
	_, err := Build(Spec{})
	if err == nil {
		t.Fatal("Build(Spec{}) succeeded")
	}
	for _, want := range []string{"binary", "CA bundle", "version", "architecture"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
