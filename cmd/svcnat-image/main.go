package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "svcnat-image:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	binary string
	out    string
	layout string
	rootfs string
	meta   meta
	debs   []string
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("svcnat-image", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "the static svcnat binary (CGO_ENABLED=0)")
	fs.StringVar(&o.out, "o", "bin/svcnat-image.tar", "the oci-archive to write")
	fs.StringVar(&o.layout, "layout", "", "also leave the OCI layout unpacked in this folder (replaced)")
	fs.StringVar(&o.rootfs, "rootfs", "", "instead of an image, write each layer's files into this folder's 1/, 2/ (for the Containerfile)")
	fs.StringVar(&o.meta.Version, "version", "", "the release (git describe); the image's ref name and version label")
	fs.StringVar(&o.meta.Revision, "revision", "", "the source revision (commit)")
	fs.StringVar(&o.meta.Source, "source", "https://github.com/svcnat/svcnat", "the source repository URL")
	fs.StringVar(&o.meta.Arch, "arch", runtime.GOARCH, "the architecture of the binary and of the .deb files")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "date of every file and of the image, in seconds since 1970 (default $SOURCE_DATE_EPOCH, else 0)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.debs = fs.Args()
	if o.binary == "" || o.meta.Version == "" {
		return o, errors.New("--binary and --version are required")
	}
	if *created == "" {
		*created = "0"
	}
	var err error
	o.meta.Created, err = parseEpoch(*created)
	return o, err
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	layers, err := layers(ctx, o)
	if err != nil {
		return err
	}
	if o.rootfs != "" {
		return writeRootfs(o.rootfs, layers)
	}
	img, err := buildImage(o.meta, layers)
	if err != nil {
		return err
	}
	dir := o.layout
	if dir == "" {
		if dir, err = os.MkdirTemp("", "svcnat-image-layout-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	if err := writeLayout(dir, img, o.meta); err != nil {
		return err
	}
	if err := writeArchive(dir, o.out, o.meta.Created); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s svcnat:%s\n", o.out, digest, o.meta.Version)
	return nil
}

// layers builds the Debian layer (when .deb files are given) and the
// binary layer.
func layers(ctx context.Context, o options) ([]layerSpec, error) {
	var specs []layerSpec
	if len(o.debs) > 0 {
		debian := newTree(o.meta.Created)
		var pkgs []string
		for _, deb := range o.debs {
			pkg, err := addDeb(ctx, debian, deb)
			if err != nil {
				return nil, err
			}
			pkgs = append(pkgs, pkg)
		}
		if err := addAlternatives(debian); err != nil {
			return nil, err
		}
		specs = append(specs, layerSpec{debian, "debian packages: " + strings.Join(pkgs, " ")})
	}
	bin := newTree(o.meta.Created)
	data, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, err
	}
	if err := bin.file(binaryPath, 0o755, data, "--binary"); err != nil {
		return nil, err
	}
	if err := bin.symlink(kubeProxyPath, "svcnat", "--binary"); err != nil {
		return nil, err
	}
	specs = append(specs, layerSpec{bin, "svcnat " + o.meta.Version + " (static)"})
	return specs, nil
}
