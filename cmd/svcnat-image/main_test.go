package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// fakeDeb builds a .deb named pkg with files (path -> content) using
// dpkg-deb, skipping the test without it.
func fakeDeb(t *testing.T, pkg string, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	dir := t.TempDir()
	control := "Package: " + pkg + "\nVersion: 1.0-1\nArchitecture: all\nMaintainer: test <test@example.org>\nDescription: test package\n"
	files["DEBIAN/control"] = control
	for name, content := range files {
		p := filepath.Join(dir, "root", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, pkg+".deb")
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", filepath.Join(dir, "root"), deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// iptablesFiles are a stand-in for Debian's iptables package.
func iptablesFiles() map[string]string {
	files := map[string]string{
		"usr/share/man/man8/iptables.8.gz":  "manual",
		"usr/share/doc/iptables/copyright":  "licence",
		"usr/share/doc/iptables/changelog":  "changes",
		"usr/lib/x86_64-linux-gnu/libxt.so": "library",
	}
	for _, cmd := range alternatives {
		files["usr/sbin/"+strings.Replace(cmd, "tables", "tables-nft", 1)] = "nft " + cmd
		files["usr/sbin/"+strings.Replace(cmd, "tables", "tables-legacy", 1)] = "legacy " + cmd
	}
	return files
}

func build(t *testing.T, debs ...string) (archive string, img v1.Image) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "svcnat")
	if err := os.WriteFile(bin, []byte("#!static svcnat"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive = filepath.Join(dir, "image.tar")
	args := append([]string{"--binary", bin, "--version", "v1.2.3", "--revision", "abc123", "--created", "1700000000",
		"--arch", "amd64", "--layout", filepath.Join(dir, "layout"), "-o", archive}, debs...)
	var stdout bytes.Buffer
	if err := run(context.Background(), args, &stdout); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.2.3" {
		t.Fatalf("index %+v: want one image named v1.2.3", m.Manifests)
	}
	if img, err = idx.Image(m.Manifests[0].Digest); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), m.Manifests[0].Digest.String()) {
		t.Errorf("printed %q, not the digest %s", stdout.String(), m.Manifests[0].Digest)
	}
	return archive, img
}

func TestReproducible(t *testing.T) {
	deb := fakeDeb(t, "iptables", iptablesFiles())
	a, _ := build(t, deb)
	b, _ := build(t, deb)
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Fatal("two builds of the same inputs differ")
	}
}

func TestLayers(t *testing.T) {
	_, img := build(t, fakeDeb(t, "iptables", iptablesFiles()))
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want the Debian one and the binary one", len(layers))
	}
	debian := layerEntries(t, layers[0])
	for name, want := range map[string]string{
		"usr/sbin/iptables":                "-> /etc/alternatives/iptables",
		"etc/alternatives/iptables":        "-> /usr/sbin/iptables-nft",
		"etc/alternatives/ip6tables-save":  "-> /usr/sbin/ip6tables-nft-save",
		"usr/sbin/iptables-legacy-save":    "0755 legacy iptables-save",
		"usr/share/doc/iptables/copyright": "0755 licence",
		"usr/":                             "0755 dir",
		"var/lib/dpkg/status.d/iptables":   "0644 status",
	} {
		if got := debian[name]; !strings.HasPrefix(got, want) {
			t.Errorf("debian layer %s: %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"usr/share/man/man8/iptables.8.gz", "usr/share/doc/iptables/changelog"} {
		if _, ok := debian[name]; ok {
			t.Errorf("debian layer has %s", name)
		}
	}
	binary := layerEntries(t, layers[1])
	if binary["usr/local/bin/svcnat"] != "0755 #!static svcnat" || binary["usr/local/bin/kube-proxy"] != "-> svcnat" {
		t.Errorf("binary layer: %v", binary)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" || cf.Config.Labels["org.opencontainers.image.revision"] != "abc123" ||
		cf.Created.Unix() != 1700000000 || !slices.Equal(cf.Config.Entrypoint, []string{binaryPath}) {
		t.Errorf("config %+v", cf)
	}
}

// layerEntries lists a layer as name -> "MODE content", "-> target" or
// "MODE dir", checking that every entry is owned by root and dated alike.
func layerEntries(t *testing.T, l v1.Layer) map[string]string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries := map[string]string{}
	tr := tar.NewReader(rc)
	var last string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.ModTime.Unix() != 1700000000 {
			t.Errorf("%s: owner %d:%d %q, date %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.ModTime)
		}
		if hdr.Name <= last {
			t.Errorf("%s after %s: not sorted", hdr.Name, last)
		}
		last = hdr.Name
		data, _ := io.ReadAll(tr)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			entries[hdr.Name] = "-> " + hdr.Linkname
		case tar.TypeDir:
			entries[hdr.Name] = "0755 dir"
		default:
			entries[hdr.Name] = modeString(hdr.Mode) + " " + string(data)
		}
		if hdr.Typeflag == tar.TypeReg && strings.HasPrefix(hdr.Name, "var/lib/dpkg/status.d/") {
			if !strings.Contains(string(data), "Status: install ok installed") {
				t.Errorf("%s: %q", hdr.Name, data)
			}
			entries[hdr.Name] = modeString(hdr.Mode) + " status"
		}
	}
}

func modeString(m int64) string { return fmt.Sprintf("%04o", m&0o7777) }

func TestConflictingPackages(t *testing.T) {
	a := fakeDeb(t, "one", map[string]string{"usr/lib/x.so": "one"})
	b := fakeDeb(t, "two", map[string]string{"usr/lib/x.so": "two"})
	tr := newTree(v1.Time{}.Time)
	if _, err := addDeb(context.Background(), tr, a); err != nil {
		t.Fatal(err)
	}
	_, err := addDeb(context.Background(), tr, b)
	if err == nil || !strings.Contains(err.Error(), "usr/lib/x.so") {
		t.Fatalf("two packages with different usr/lib/x.so: %v", err)
	}
}

func TestSkipped(t *testing.T) {
	for name, want := range map[string]bool{
		"usr/share/man":                        true,
		"usr/share/man/man8/iptables.8.gz":     true,
		"usr/share/locale/de/LC_MESSAGES/x.mo": true,
		"usr/share/doc/libc6/changelog.gz":     true,
		"usr/share/doc/libc6/copyright":        false,
		"usr/share/doc/libc6":                  false,
		"usr/share/doc":                        false,
		"usr/sbin/iptables-nft":                false,
		"usr/share/manx":                       false,
	} {
		if got := skipped(name); got != want {
			t.Errorf("skipped(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"--version", "v1"},
		{"--binary", "x"},
		{"--binary", "x", "--version", "v1", "--created", "yesterday"},
		{"--binary", "/nonexistent/svcnat", "--version", "v1", "-o", filepath.Join(t.TempDir(), "x.tar")},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestRootfs: the Containerfile's folders hold what the layers hold.
func TestRootfs(t *testing.T) {
	deb := fakeDeb(t, "iptables", iptablesFiles())
	bin := filepath.Join(t.TempDir(), "svcnat")
	if err := os.WriteFile(bin, []byte("static"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := run(context.Background(), []string{"--binary", bin, "--version", "v1", "--rootfs", dir, deb}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"1/usr/sbin/iptables":        "-> /etc/alternatives/iptables",
		"1/usr/sbin/iptables-nft":    "0755 nft iptables",
		"2/usr/local/bin/svcnat":     "0755 static",
		"2/usr/local/bin/kube-proxy": "-> svcnat",
	} {
		p := filepath.Join(dir, name)
		got := ""
		if target, err := os.Readlink(p); err == nil {
			got = "-> " + target
		} else if info, err := os.Stat(p); err == nil {
			data, _ := os.ReadFile(p)
			got = modeString(int64(info.Mode().Perm())) + " " + string(data)
		}
		if got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "1/usr/share/man")); err == nil {
		t.Error("manual pages in the rootfs")
	}
}
