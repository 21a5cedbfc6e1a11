//go:build image

package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// unpackImage unpacks the oci-archive into layoutDir and the image's file
// system (its layers applied in order) into rootfs.
func unpackImage(archive, layoutDir, rootfs string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := untar(f, layoutDir); err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	img, err := layoutImage(layoutDir)
	if err != nil {
		return err
	}
	fs := mutate.Extract(img)
	defer fs.Close()
	if err := untar(fs, rootfs); err != nil {
		return fmt.Errorf("unpack the image's file system: %w", err)
	}
	return nil
}

// layoutImage returns the only image of an OCI layout.
func layoutImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s: %d manifests, want 1", dir, len(m.Manifests))
	}
	return idx.Image(m.Manifests[0].Digest)
}

// untar extracts regular files, directories and links into dir, refusing
// names that leave it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(hdr.Name)
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || strings.HasPrefix(name, "..") {
			return fmt.Errorf("unsafe name %q", hdr.Name)
		}
		if err := extract(tr, hdr, dir, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

func extract(r io.Reader, hdr *tar.Header, dir, name string) error {
	dst := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(dst, mode); err != nil {
			return err
		}
		return os.Chmod(dst, mode)
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, dst)
	case tar.TypeLink:
		return os.Link(filepath.Join(dir, filepath.Clean(hdr.Linkname)), dst)
	case tar.TypeReg:
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Chmod(dst, mode) // past the umask
	}
	return fmt.Errorf("unexpected entry type %q", hdr.Typeflag)
}
