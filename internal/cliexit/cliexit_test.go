package cliexit

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/pflag"
)

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{pflag.ErrHelp, 0, ""},
		{Usagef("--x %q: bad", "y"), 2, "prog: --x \"y\": bad (see prog --help)\n"},
		{fmt.Errorf("wrapped: %w", UsageError{errors.New("bad")}), 2, "prog: wrapped: bad (see prog --help)\n"},
		{errors.New("broken"), 1, "prog: broken\n"},
	} {
		var b bytes.Buffer
		if got := Code("prog", tc.err, &b); got != tc.code || b.String() != tc.stderr {
			t.Errorf("Code(%v) = %d, %q; want %d, %q", tc.err, got, b.String(), tc.code, tc.stderr)
		}
	}
}
