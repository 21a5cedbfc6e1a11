package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// writeRootfs writes each layer's tree into dir/1, dir/2, ... (bottom
// first) as files on disk, for the Containerfile, whose final stage copies
// them onto scratch: a container engine then builds the same file system.
func writeRootfs(dir string, layers []layerSpec) error {
	for i, l := range layers {
		if err := l.tree.writeTo(filepath.Join(dir, strconv.Itoa(i+1))); err != nil {
			return err
		}
	}
	return nil
}

// writeTo creates the tree's entries under dir, parents first.
func (t *tree) writeTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(t.entries))
	for n := range t.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e, p := t.entries[n], filepath.Join(dir, n)
		var err error
		switch e.typ {
		case tar.TypeDir:
			err = os.Mkdir(p, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(e.link, p)
		case tar.TypeLink:
			err = os.Link(filepath.Join(dir, e.link), p)
		case tar.TypeReg:
			err = os.WriteFile(p, e.data, 0o600)
		}
		if err == nil && e.typ != tar.TypeSymlink && e.typ != tar.TypeLink {
			err = os.Chmod(p, os.FileMode(e.mode&0o777)|specialBits(e.mode))
		}
		if err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	return nil
}

// specialBits maps the setuid, setgid and sticky bits of a tar mode.
func specialBits(mode int64) os.FileMode {
	var m os.FileMode
	if mode&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}
