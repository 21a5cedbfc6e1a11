package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
)

// skipped says which paths of a package stay out of the image: manuals,
// info pages, translations, lintian overrides and documentation other than
// copyright files (which Debian's licences ask to ship with the binaries).
func skipped(name string) bool {
	for _, prefix := range []string{"usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/"} {
		if strings.HasPrefix(name+"/", prefix) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(name, "usr/share/doc/"); ok {
		dir, file, nested := strings.Cut(rest, "/")
		return dir != "" && nested && file != "copyright"
	}
	return false
}

// addDeb unpacks one .deb into t as dpkg would (the data archive as
// `dpkg-deb --fsys-tarfile` streams it), keeping modes and links but not
// owners or dates, and records the package's control fields under
// var/lib/dpkg/status.d/<package>, where image scanners look for the
// packages of images without a dpkg database.
func addDeb(ctx context.Context, t *tree, debPath string) (pkg string, err error) {
	control, err := dpkgDeb(ctx, "--field", debPath)
	if err != nil {
		return "", err
	}
	pkg = controlField(control, "Package")
	if pkg == "" {
		return "", fmt.Errorf("%s: no Package field", debPath)
	}
	from := path.Base(debPath)
	status := append(bytes.TrimRight(control, "\n"), "\nStatus: install ok installed\n"...)
	if err := t.file("var/lib/dpkg/status.d/"+pkg, 0o644, status, from); err != nil {
		return "", err
	}
	data, err := dpkgDeb(ctx, "--fsys-tarfile", debPath)
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return pkg, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", debPath, err)
		}
		if err := addTarEntry(t, tr, hdr, from); err != nil {
			return "", fmt.Errorf("%s: %w", debPath, err)
		}
	}
}

func addTarEntry(t *tree, r io.Reader, hdr *tar.Header, from string) error {
	name := cleanName(hdr.Name)
	if name == "" || skipped(name) {
		return nil
	}
	mode := hdr.Mode & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		return t.dir(name, mode, from)
	case tar.TypeSymlink:
		return t.symlink(name, hdr.Linkname, from)
	case tar.TypeLink:
		return t.add(name, &entry{typ: tar.TypeLink, mode: mode, link: cleanName(hdr.Linkname), from: from})
	case tar.TypeReg:
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return t.file(name, mode, data, from)
	}
	return fmt.Errorf("%s: unsupported tar entry type %q", name, hdr.Typeflag)
}

// dpkgDeb runs dpkg-deb and returns its standard output.
func dpkgDeb(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "dpkg-deb", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dpkg-deb %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// controlField returns a single-line field of a Debian control file.
func controlField(control []byte, key string) string {
	for line := range strings.SplitSeq(string(control), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// alternatives are the commands Debian's iptables package points at a
// flavour with update-alternatives; the image points them at nft, Debian's
// default. svcnat itself calls the flavoured binaries (iptables-nft-restore,
// iptables-legacy-save, ...), so these links serve people who exec into the
// container.
var alternatives = []string{
	"iptables", "iptables-restore", "iptables-save",
	"ip6tables", "ip6tables-restore", "ip6tables-save",
}

// addAlternatives links /usr/sbin/X -> /etc/alternatives/X -> X-nft for
// every alternative whose nft binary is in the tree.
func addAlternatives(t *tree) error {
	const from = "alternatives"
	for _, cmd := range alternatives {
		nft := strings.Replace(cmd, "tables", "tables-nft", 1)
		if !t.has("usr/sbin/" + nft) {
			return fmt.Errorf("no usr/sbin/%s in the Debian packages: is iptables among them?", nft)
		}
		if err := t.symlink("etc/alternatives/"+cmd, "/usr/sbin/"+nft, from); err != nil {
			return err
		}
		if err := t.symlink("usr/sbin/"+cmd, "/etc/alternatives/"+cmd, from); err != nil {
			return err
		}
	}
	return nil
}
