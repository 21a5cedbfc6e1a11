package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// Load reads the given files ("-" is standard input) into one Input.
// Objects of other kinds are skipped; use a Loader to see them.
func Load(paths ...string) (synth.Input, error) {
	var l Loader
	return l.Load(paths...)
}

// Read reads one stream; name is used in errors.
func Read(name string, r io.Reader) (synth.Input, error) {
	var l Loader
	return l.Read(name, r)
}

// LoadDir reads the manifest files of a directory (see Files).
func LoadDir(dir string) (synth.Input, error) {
	var l Loader
	return l.LoadDir(dir)
}

// Loader reads manifests and keeps the objects it skipped. The zero value
// is ready to use. A Loader is not safe for concurrent use.
type Loader struct {
	// Stdin is read for the path "-"; nil means os.Stdin.
	Stdin io.Reader
	// Ignored collects, across calls, the objects of kinds svcnat does not
	// use, in order of appearance.
	Ignored []Ignored
}

// Ignored is an object that was read but skipped because svcnat does not
// use its kind (or its version of the kind).
type Ignored struct {
	File, APIVersion, Kind, Namespace, Name string
	Line                                    int
}

func (i Ignored) String() string {
	id := i.Name
	if i.Namespace != "" {
		id = i.Namespace + "/" + i.Name
	}
	return fmt.Sprintf("%s:%d: ignored %s %s %s", i.File, i.Line, i.APIVersion, i.Kind, id)
}

// Load reads the given files ("-" is Stdin) into one Input. The same object
// (kind, namespace and name) appearing twice is an error.
func (l *Loader) Load(paths ...string) (synth.Input, error) {
	b := newBuilder()
	for _, path := range paths {
		if path != "-" && strings.EqualFold(filepath.Ext(path), ".json") {
			if err := b.streamJSONList(path); err != errNoStream {
				if err != nil {
					return synth.Input{}, err
				}
				continue
			}
		}
		name, data, err := l.readPath(path)
		if err != nil {
			return synth.Input{}, err
		}
		if err := b.addFile(name, data); err != nil {
			return synth.Input{}, err
		}
	}
	l.Ignored = append(l.Ignored, b.ignored...)
	return b.in, nil
}

// Read reads one stream; name is used in errors.
func (l *Loader) Read(name string, r io.Reader) (synth.Input, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return synth.Input{}, &Error{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	b := newBuilder()
	if err := b.addFile(name, data); err != nil {
		return synth.Input{}, err
	}
	l.Ignored = append(l.Ignored, b.ignored...)
	return b.in, nil
}

// LoadDir reads the manifest files of a directory (see Files).
func (l *Loader) LoadDir(dir string) (synth.Input, error) {
	paths, err := Files(dir)
	if err != nil {
		return synth.Input{}, err
	}
	return l.Load(paths...)
}

// stdinName is how standard input is named in errors.
const stdinName = "<stdin>"

func (l *Loader) readPath(path string) (string, []byte, error) {
	if path != "-" {
		data, err := os.ReadFile(path)
		if err != nil {
			return path, nil, &Error{File: path, Err: err}
		}
		return path, data, nil
	}
	r := l.Stdin
	if r == nil {
		r = os.Stdin
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return stdinName, nil, &Error{File: stdinName, Err: fmt.Errorf("read: %w", err)}
	}
	return stdinName, data, nil
}

// Files lists the manifest files of dir: every *.yaml, *.yml and *.json,
// not recursively, sorted by name, without hidden files (".x", which
// includes Emacs lock files ".#x") and editor backups ("x~").
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{File: dir, Err: err}
	}
	var paths []string
	for _, e := range entries { // os.ReadDir sorts by name
		if e.IsDir() || !isManifestName(e.Name()) {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	return paths, nil
}

func isManifestName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// splitFile cuts a file into units. A .json file must be JSON; elsewhere a
// document that looks like JSON but does not parse as JSON is read as YAML
// (a flow mapping like {kind: Service} is YAML, not JSON).
func splitFile(name string, data []byte) ([]unit, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	strictJSON := strings.EqualFold(filepath.Ext(name), ".json")
	var units []unit
	for _, d := range splitDocs(data) {
		if rawJSON(d.data) {
			us, err := splitJSON(name, d.base, d.data)
			if err == nil {
				units = append(units, us...)
				continue
			}
			if strictJSON || !isSyntaxError(err) {
				return nil, err
			}
		}
		units = append(units, splitYAML(name, d))
	}
	return units, nil
}

// isSyntaxError reports whether err says the text is not JSON, as opposed
// to JSON with a value of the wrong type.
func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}
