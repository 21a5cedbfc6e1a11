// Package cliexit maps a command's error to the exit status every svcnat
// program uses: 0 success (and --help), 1 failure, 2 usage error.
package cliexit

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// UsageError marks an error of the command line: the program exits 2.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Code prints err to stderr, prefixed with the program's name, and returns
// the exit status: 0 for none or pflag.ErrHelp, 2 for a UsageError, else 1.
func Code(program string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, new(UsageError)):
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", program, err, program)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", program, err)
	return 1
}
