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
// Objects of other kinds are skipped; use a Loader to see them. Objects
// that cannot be used are skipped too, and the error (Errors) lists them
// with the Input of the others; use a Loader to tell them from a file
// that cannot be read.
func Load(paths ...string) (synth.Input, error) {
	var l Loader
	return l.strict(l.Load(paths...))
}

// Read reads one stream; name is used in errors. Errors as for Load.
func Read(name string, r io.Reader) (synth.Input, error) {
	var l Loader
	return l.strict(l.Read(name, r))
}

// readFile reads f up to one byte past the size limit into a buffer of
// the file's size: io.ReadAll grows its buffer step by step, which cost a
// tenth of reading a 30 MB file.
func (l *Loader) readFile(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		buf.Grow(int(min(st.Size(), l.maxBytes())) + 1 + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(f, l.maxBytes()+1))
	return buf.Bytes(), err
}

// LoadDir reads the manifest files of a directory (see Files). Errors as
// for Load.
func LoadDir(dir string) (synth.Input, error) {
	var l Loader
	return l.strict(l.LoadDir(dir))
}

// strict turns the per-object errors into the error.
func (l *Loader) strict(in synth.Input, err error) (synth.Input, error) {
	if err == nil && len(l.Errors) > 0 {
		err = l.Errors
	}
	return in, err
}

// Loader reads manifests and keeps the objects it skipped. The zero value
// is ready to use. A Loader is not safe for concurrent use.
//
// One bad object never costs the others: an object that does not decode
// (a field of the wrong type), has no name, or repeats an object read
// before is skipped and its error added to Errors; so is a document that
// is not YAML or JSON, and a file over MaxFileBytes. The methods return
// an error only when a file cannot be read at all.
type Loader struct {
	// Stdin is read for the path "-"; nil means os.Stdin.
	Stdin io.Reader
	// MaxFileBytes caps the size of one file or stream (0: DefaultMaxFileBytes).
	MaxFileBytes int64
	// Ignored collects, across calls, the objects of kinds svcnat does not
	// use, in order of appearance.
	Ignored []Ignored
	// Errors collects, across calls, the objects and documents skipped
	// because they cannot be used, in order of appearance.
	Errors Errors
}

// DefaultMaxFileBytes is the largest manifest file read: a dump of 50k
// Services and their EndpointSlices is ~70 MB of YAML. A bigger file is
// reported and skipped instead of taking the memory of several times its
// size (a 300 MB file of junk took 1.7 GB).
const DefaultMaxFileBytes = 256 << 20

func (l *Loader) maxBytes() int64 {
	if l.MaxFileBytes > 0 {
		return l.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// Errors is the errors of the objects a read skipped, one per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
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
		if path != "-" && strings.EqualFold(filepath.Ext(path), ".json") && l.fits(path) {
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
		l.addFile(b, name, data)
	}
	l.finish(b)
	return b.in, nil
}

// fits reports whether the file at path is within the size limit.
func (l *Loader) fits(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() <= l.maxBytes()
}

// addFile adds data, unless it is over the size limit (then data is one
// byte more than the limit: readLimited read no further).
func (l *Loader) addFile(b *builder, name string, data []byte) {
	if int64(len(data)) > l.maxBytes() {
		b.problem(name, &Error{File: name, Err: fmt.Errorf("file is larger than %d bytes; it is skipped", l.maxBytes())})
		return
	}
	b.addFile(name, data)
}

func (l *Loader) finish(b *builder) {
	l.Ignored = append(l.Ignored, b.ignored...)
	l.Errors = append(l.Errors, b.errs...)
}

// Read reads one stream; name is used in errors.
func (l *Loader) Read(name string, r io.Reader) (synth.Input, error) {
	data, err := l.readLimited(r)
	if err != nil {
		return synth.Input{}, &Error{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	b := newBuilder()
	l.addFile(b, name, data)
	l.finish(b)
	return b.in, nil
}

// readLimited reads r up to one byte past the size limit.
func (l *Loader) readLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, l.maxBytes()+1))
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
		f, err := os.Open(path)
		if err != nil {
			return path, nil, &Error{File: path, Err: err}
		}
		defer f.Close()
		data, err := l.readFile(f)
		if err != nil {
			return path, nil, &Error{File: path, Err: err}
		}
		return path, data, nil
	}
	r := l.Stdin
	if r == nil {
		r = os.Stdin
	}
	data, err := l.readLimited(r)
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
// (a flow mapping like {kind: Service} is YAML, not JSON). A document that
// cannot be split is skipped with its error; the others are kept.
func splitFile(name string, data []byte) ([]unit, []error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	strictJSON := strings.EqualFold(filepath.Ext(name), ".json")
	var units []unit
	var errs []error
	for _, d := range splitDocs(data) {
		if rawJSON(d.data) {
			us, err := splitJSON(name, d.base, d.data)
			if err == nil {
				units = append(units, us...)
				continue
			}
			if strictJSON || !isSyntaxError(err) {
				errs = append(errs, err)
				continue
			}
		}
		units = append(units, splitYAML(name, d))
	}
	return units, errs
}

// isSyntaxError reports whether err says the text is not JSON, as opposed
// to JSON with a value of the wrong type.
func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}
