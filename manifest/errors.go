package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// Error is a problem with one file. Its text is a single line
// "FILE:LINE: message", or "FILE: message" when no line applies (an
// unreadable file).
type Error struct {
	File string
	// Line is 1-based; 0 means the error concerns the whole file.
	Line int
	Err  error
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	var pe *fs.PathError
	if errors.As(e.Err, &pe) && pe.Path == e.File {
		// Do not repeat the file name: "svc.yaml: open: no such file or directory".
		msg = pe.Op + ": " + pe.Err.Error()
	}
	msg = oneLine(msg)
	// Names in the message come from the file: escaped, they cannot
	// forge lines or terminal escapes.
	if e.Line > 0 {
		return synth.EscapeControl(fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg))
	}
	return synth.EscapeControl(fmt.Sprintf("%s: %s", e.File, msg))
}

func (e *Error) Unwrap() error { return e.Err }

// oneLine folds multi-line messages (go-yaml's "unmarshal errors:\n  line 3: ...")
// into one line, so every error is one line of output.
func oneLine(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	fields := strings.Split(s, "\n")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " ")
}

// yamlLineRE finds the document-relative line number in a go-yaml error.
var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// yamlError turns a go-yaml error about a document whose first byte is on
// line base into an Error on the absolute line of the problem. go-yaml
// numbers lines from 1 within the document it was given.
func yamlError(file string, base int, err error) *Error {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatchIndex(msg)
	if m == nil {
		return &Error{File: file, Line: base, Err: err}
	}
	n, convErr := strconv.Atoi(msg[m[2]:m[3]])
	if convErr != nil {
		return &Error{File: file, Line: base, Err: err}
	}
	msg = msg[:m[0]] + msg[m[1]:]
	return &Error{File: file, Line: base + n - 1, Err: errors.New(msg)}
}
