package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// tree is a layer's file system before it becomes a tar stream: entries by
// clean relative path ("usr/sbin/iptables"), written sorted, with fixed
// owners and dates, so that the same content always gives the same bytes.
type tree struct {
	entries map[string]*entry
	mtime   time.Time
}

// entry is one file, directory, symlink or hard link.
type entry struct {
	typ  byte // tar.TypeReg, TypeDir, TypeSymlink or TypeLink
	mode int64
	link string // symlink target, or the path a hard link points at
	data []byte
	from string // what put it there, for conflict messages
}

func newTree(mtime time.Time) *tree {
	return &tree{entries: map[string]*entry{}, mtime: mtime}
}

// cleanName turns a tar or absolute name into the tree's key; "" is the root.
func cleanName(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// add puts e at name and creates missing parent directories (0755). Two
// directories merge; any other second entry at the same path must be
// identical, else it is an error (two packages shipping different files).
func (t *tree) add(name string, e *entry) error {
	name = cleanName(name)
	if name == "" {
		return nil // the root exists
	}
	if err := t.addParents(name, e.from); err != nil {
		return err
	}
	old, ok := t.entries[name]
	if !ok {
		t.entries[name] = e
		return nil
	}
	if old.typ == tar.TypeDir && e.typ == tar.TypeDir {
		return nil
	}
	if old.typ != e.typ || old.mode != e.mode || old.link != e.link || !bytes.Equal(old.data, e.data) {
		return fmt.Errorf("%s: from %s conflicts with the one from %s", name, e.from, old.from)
	}
	return nil
}

func (t *tree) addParents(name, from string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	if old, ok := t.entries[dir]; ok {
		if old.typ != tar.TypeDir {
			return fmt.Errorf("%s: parent %s from %s is not a directory", name, dir, old.from)
		}
		return nil
	}
	return t.add(dir, &entry{typ: tar.TypeDir, mode: 0o755, from: from})
}

func (t *tree) dir(name string, mode int64, from string) error {
	return t.add(name, &entry{typ: tar.TypeDir, mode: mode, from: from})
}

func (t *tree) file(name string, mode int64, data []byte, from string) error {
	return t.add(name, &entry{typ: tar.TypeReg, mode: mode, data: data, from: from})
}

func (t *tree) symlink(name, target, from string) error {
	return t.add(name, &entry{typ: tar.TypeSymlink, mode: 0o777, link: target, from: from})
}

// has reports whether name exists.
func (t *tree) has(name string) bool {
	_, ok := t.entries[cleanName(name)]
	return ok
}

// tar returns the layer's uncompressed tar stream. Sorting puts every
// directory before its contents ("a" < "a/b"), and hard links after their
// targets only if the target sorts first, which checkLinks ensures.
func (t *tree) tar() ([]byte, error) {
	if err := t.checkLinks(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(t.entries))
	for n := range t.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := t.entries[n]
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     n,
			Linkname: e.link,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  t.mtime,
		}
		if e.typ == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkLinks rejects hard links whose target is missing or sorts after the
// link (an extractor would not find it yet).
func (t *tree) checkLinks() error {
	for n, e := range t.entries {
		if e.typ != tar.TypeLink {
			continue
		}
		target, ok := t.entries[e.link]
		if !ok || target.typ != tar.TypeReg {
			return fmt.Errorf("%s: hard link to %s, which is not a regular file in the layer", n, e.link)
		}
		if e.link > n {
			return fmt.Errorf("%s: hard link to %s, which sorts after it", n, e.link)
		}
	}
	return nil
}
