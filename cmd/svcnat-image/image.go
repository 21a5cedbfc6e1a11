package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// meta is what the image says about itself.
type meta struct {
	Version  string
	Revision string
	Source   string
	Created  time.Time
	Arch     string
}

// Paths inside the image.
const (
	binaryPath    = "/usr/local/bin/svcnat"
	kubeProxyPath = "/usr/local/bin/kube-proxy"
	imagePATH     = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// layerSpec is one layer's content and the history line that describes it.
type layerSpec struct {
	tree      *tree
	createdBy string
}

// buildImage assembles the image from its layers, bottom first.
func buildImage(m meta, layers []layerSpec) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	created := v1.Time{Time: m.Created}
	var adds []mutate.Addendum
	for _, spec := range layers {
		data, err := spec.tree.tar()
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: created, CreatedBy: spec.createdBy, Comment: "svcnat-image"},
		})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = m.Arch, "linux"
	cf.Created = created
	cf.Config = v1.Config{
		Entrypoint: []string{binaryPath},
		Cmd:        []string{"run"},
		Env:        []string{imagePATH},
		WorkingDir: "/",
		Labels:     m.labels(),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotations of the image config.
func (m meta) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "svcnat",
		"org.opencontainers.image.description": "Kubernetes Service proxy for Linux nodes (nftables or iptables), a kube-proxy replacement",
		"org.opencontainers.image.version":     m.Version,
		"org.opencontainers.image.created":     m.Created.UTC().Format(time.RFC3339),
	}
	if m.Revision != "" {
		l["org.opencontainers.image.revision"] = m.Revision
	}
	if m.Source != "" {
		l["org.opencontainers.image.source"] = m.Source
	}
	return l
}

// writeLayout writes img as an OCI image layout in dir (emptied first),
// named by its version, plus a docker-style manifest.json over the same
// blobs so that `docker load` reads the archive too.
func writeLayout(dir string, img v1.Image, m meta) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	platform := &v1.Platform{OS: "linux", Architecture: m.Arch}
	annotations := map[string]string{
		"org.opencontainers.image.ref.name": m.Version,
		"org.opencontainers.image.created":  m.Created.UTC().Format(time.RFC3339),
	}
	if err := p.AppendImage(img, layout.WithPlatform(*platform), layout.WithAnnotations(annotations)); err != nil {
		return err
	}
	return writeDockerManifest(dir, img, m)
}

// dockerManifest is one entry of `docker save`'s manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func writeDockerManifest(dir string, img v1.Image, m meta) error {
	cfg, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	dm := dockerManifest{Config: blobPath(cfg), RepoTags: []string{"svcnat:" + m.Version}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		dm.Layers = append(dm.Layers, blobPath(d))
	}
	data, err := json.Marshal([]dockerManifest{dm})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// parseEpoch reads SOURCE_DATE_EPOCH-style seconds.
func parseEpoch(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("--created %q: want seconds since 1970 (SOURCE_DATE_EPOCH)", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}
