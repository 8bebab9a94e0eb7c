// Command image builds the manager's OCI image without a container engine: a static manager
// binary, a CA bundle and a passwd entry for the non-root user, no shell and nothing else.
//
//	go run ./hack/image --binary out/image/manager --version v0.1.0 --revision $(git rev-parse HEAD) \
//	  --out out/image/layout --tarball out/image/manager.tar
//
// The image is reproducible: every file has the same owner, mode and modification time
// (--epoch, SOURCE_DATE_EPOCH in `make image`), the layers are written in a fixed order and the
// config's timestamps are the epoch, so the same binary and bundle always give the same digest.
// `make image` builds the binary with -trimpath and fixed -ldflags, which Go builds
// reproducibly, so the same source gives the same digest.
//
// The output is an OCI image layout (--out; a registry client such as crane or skopeo copies it
// to a registry) and, with --tarball, a `docker load` tarball.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed properties.
const (
	// EntrypointPath is where the manager binary lives in the image.
	EntrypointPath = "/manager"
	// CABundlePath is where the CA bundle lives; Go's crypto/x509 reads it on Linux.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// User is the non-root user and group the manager runs as (distroless's "nonroot").
	User = "65532:65532"
	// DefaultSource is the project's source repository, the org.opencontainers.image.source label.
	DefaultSource = "https://github.com/llm-d-incubation/workload-variant-autoscaler"
	// License is the org.opencontainers.image.licenses label.
	License = "Apache-2.0"
)

// Spec is everything an image is built from.
type Spec struct {
	Binary   []byte    // the static manager binary
	CABundle []byte    // PEM CA certificates
	Version  string    // org.opencontainers.image.version
	Revision string    // org.opencontainers.image.revision
	Source   string    // org.opencontainers.image.source
	Arch     string    // the binary's GOARCH
	Epoch    time.Time // modification time of every file and the image's creation time
}

// Validate reports what is missing from s.
func (s Spec) Validate() error {
	var errs []error
	if len(s.Binary) == 0 {
		errs = append(errs, errors.New("no manager binary"))
	}
	if len(s.CABundle) == 0 {
		errs = append(errs, errors.New("no CA bundle"))
	}
	if s.Version == "" {
		errs = append(errs, errors.New("no version"))
	}
	if s.Arch == "" {
		errs = append(errs, errors.New("no architecture"))
	}
	return errors.Join(errs...)
}

// Labels returns the OCI annotations the image config carries.
func (s Spec) Labels() map[string]string {
	source := s.Source
	if source == "" {
		source = DefaultSource
	}
	return map[string]string{
		"org.opencontainers.image.title":       "workload-variant-autoscaler",
		"org.opencontainers.image.description": "Autoscales vLLM inference Deployments from saturation and SLO signals",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.revision":    s.Revision,
		"org.opencontainers.image.licenses":    License,
		"org.opencontainers.image.created":     s.Epoch.UTC().Format(time.RFC3339),
	}
}

// Build assembles the image: a base layer (CA bundle, passwd and group for the non-root user,
// an empty /tmp) and the binary's layer, with an OCI manifest and config.
func Build(s Spec) (v1.Image, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("image spec: %w", err)
	}
	base, err := layer(s.Epoch, []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CABundlePath[1:], mode: 0o644, data: s.CABundle},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, dir: true, uid: 65532, gid: 65532},
		{name: "tmp/", mode: 0o1777, dir: true},
	})
	if err != nil {
		return nil, fmt.Errorf("building the base layer: %w", err)
	}
	bin, err := layer(s.Epoch, []file{{name: EntrypointPath[1:], mode: 0o755, data: s.Binary}})
	if err != nil {
		return nil, fmt.Errorf("building the binary layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	created := v1.Time{Time: s.Epoch.UTC()}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer,
			History: v1.History{Created: created, CreatedBy: "hack/image: CA certificates, passwd, group, /tmp", Comment: "base"}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer,
			History: v1.History{Created: created, CreatedBy: "hack/image: " + EntrypointPath, Comment: "manager"}},
	)
	if err != nil {
		return nil, fmt.Errorf("appending layers: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = s.Arch
	cfg.OS = "linux"
	cfg.Created = created
	cfg.Author = ""
	cfg.Config = v1.Config{
		Entrypoint: []string{EntrypointPath},
		User:       User,
		WorkingDir: "/",
		Env:        []string{"SSL_CERT_FILE=" + CABundlePath},
		Labels:     s.Labels(),
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	return img, nil
}

// file is one tar entry.
type file struct {
	name     string
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

// layer writes files into an uncompressed tar with fixed metadata and returns it as an OCI layer.
func layer(epoch time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    f.name,
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: epoch.UTC(),
			Format:  tar.FormatPAX,
		}
		if f.dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", path.Clean(f.name), err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar data %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// WriteLayout writes img as the only image of a fresh OCI image layout at dir, named by ref.
func WriteLayout(dir string, img v1.Image, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return fmt.Errorf("writing the image into %s: %w", dir, err)
	}
	return nil
}

// WriteTarball writes img as a `docker load` tarball tagged ref.
func WriteTarball(file string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

func main() {
	if err := runMain(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func runMain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	binary := fs.String("binary", "", "the static manager binary (CGO_ENABLED=0)")
	caBundle := fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "the PEM CA bundle to ship")
	version := fs.String("version", "dev", "the image version label")
	revision := fs.String("revision", "", "the source revision label")
	source := fs.String("source", DefaultSource, "the source repository label")
	arch := fs.String("arch", "amd64", "the binary's GOARCH")
	epoch := fs.Int64("epoch", 0, "file modification and creation time, seconds since 1970 (SOURCE_DATE_EPOCH)")
	out := fs.String("out", "out/image/layout", "the OCI image layout directory to write (replaced)")
	tarFile := fs.String("tarball", "", "also write a `docker load` tarball here")
	ref := fs.String("ref", "ghcr.io/llm-d-incubation/workload-variant-autoscaler:latest", "the image reference")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return fmt.Errorf("reading the binary: %w", err)
	}
	ca, err := os.ReadFile(*caBundle)
	if err != nil {
		return fmt.Errorf("reading the CA bundle: %w", err)
	}
	img, err := Build(Spec{Binary: bin, CABundle: ca, Version: *version, Revision: *revision,
		Source: *source, Arch: *arch, Epoch: time.Unix(*epoch, 0)})
	if err != nil {
		return err
	}
	if err := WriteLayout(*out, img, *ref); err != nil {
		return err
	}
	if *tarFile != "" {
		if err := WriteTarball(*tarFile, img, *ref); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s@%s\n", *ref, digest)
	return nil
}
