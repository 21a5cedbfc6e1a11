package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
)

// errNoStream means a file is not in the one shape streamJSONList reads.
// The file is then read whole (splitFile), which handles every layout and
// places every error exactly, so streaming never changes what Load
// returns, only how much memory it takes.
var errNoStream = errors.New("not a streamable JSON list")

// streamJSONList reads a JSON file holding one List whose items each name
// their kind and apiVersion, as `svcnat-gen` and `kubectl get -o json`
// write it, decoding each item as it is read: a 10k-Service cluster is a
// 29 MB file, and reading it whole kept the file, its split and the
// decoded objects in memory at once. Anything else, or any error, returns
// errNoStream before any object is added to b.
func (b *builder) streamJSONList(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return errNoStream
	}
	defer f.Close()
	lines := &newlineReader{r: bufio.NewReaderSize(f, 256<<10), line: 1}
	dec := json.NewDecoder(lines)
	objs, err := streamItems(path, dec, lines)
	if err != nil {
		return errNoStream
	}
	if _, err := dec.Token(); err != io.EOF { // a second value in the file
		return errNoStream
	}
	for _, o := range objs {
		b.add(path, o)
	}
	return nil
}

// streamItems reads the top-level object: "items" are decoded as they
// come, "kind" must name a List, other keys are skipped.
func streamItems(path string, dec *json.Decoder, lines *newlineReader) ([]object, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNoStream
	}
	var objs []object
	kind := ""
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch key {
		case "items":
			if objs, err = streamArray(path, dec, lines); err != nil {
				return nil, err
			}
		case "kind":
			if err := dec.Decode(&kind); err != nil {
				return nil, err
			}
		default:
			if err := dec.Decode(&skip{}); err != nil {
				return nil, err
			}
		}
	}
	if _, err := dec.Token(); err != nil || !isList(kind) {
		return nil, errNoStream
	}
	return objs, nil
}

// streamArray decodes the items of the list as they are read, a batch at
// a time on every CPU (decodeParallel), in order. One batch decodes while
// the next is read: reading (the JSON scan of every item) is one
// goroutine's work, and waiting for each batch left the CPUs idle in turn.
func streamArray(path string, dec *json.Decoder, lines *newlineReader) ([]object, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errNoStream
	}
	var d batchDecoder
	batch := make([]piece, 0, streamBatch)
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if string(raw) == "null" {
			continue
		}
		// Decode consumed the value exactly, so it starts len(raw) back.
		line := lines.lineAt(dec.InputOffset() - int64(len(raw)))
		// No default kind: an item without one fails here, and the
		// whole-file reader, which knows the list's kind, takes over.
		batch = append(batch, piece{file: path, base: line, line: line, data: raw, json: true, whole: true})
		if len(batch) == streamBatch {
			if err := d.start(batch); err != nil {
				return nil, err
			}
			batch = make([]piece, 0, streamBatch)
		}
	}
	if err := d.start(batch); err != nil {
		return nil, err
	}
	if err := d.wait(); err != nil {
		return nil, err
	}
	_, err := dec.Token() // the closing bracket
	return d.objs, err
}

// batchDecoder decodes one batch of items in the background while the
// caller reads the next, and collects the objects in order.
type batchDecoder struct {
	running chan []result // the batch being decoded, or nil
	objs    []object
}

// start waits for the batch before, then starts decoding batch, which
// the caller must not touch again.
func (d *batchDecoder) start(batch []piece) error {
	if err := d.wait(); err != nil {
		return err
	}
	done := make(chan []result, 1)
	go func() { done <- decodeParallel(batch) }()
	d.running = done
	return nil
}

// wait collects the batch being decoded. Any object error makes the file
// go to the whole-file reader, which reports it.
func (d *batchDecoder) wait() error {
	if d.running == nil {
		return nil
	}
	more, errs := gather(<-d.running)
	d.running = nil
	d.objs = append(d.objs, more...)
	if len(errs) > 0 {
		return errNoStream
	}
	return nil
}

// streamBatch is how many items are decoded at once: enough to keep every
// CPU busy, few enough that their text is a small part of memory.
const streamBatch = 512

// newlineReader counts lines as a reader is consumed, for line numbers of
// offsets asked in increasing order; it keeps only the newlines between
// the last offset asked and what was read ahead.
type newlineReader struct {
	r       io.Reader
	off     int64   // bytes read so far
	pending []int64 // offsets of newlines at or after the last offset asked
	line    int     // line of the last offset asked
}

func (c *newlineReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		c.pending = append(c.pending, c.off+int64(i+j))
		i += j + 1
	}
	c.off += int64(n)
	return n, err
}

// lineAt returns the line (1-based) of offset off, which must not be below
// an offset asked before.
func (c *newlineReader) lineAt(off int64) int {
	k := 0
	for k < len(c.pending) && c.pending[k] < off {
		k++
	}
	c.line += k
	c.pending = c.pending[k:]
	return c.line
}
