package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
)

// env is what a command may touch, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Exit statuses, the same for every command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError makes main exit 2: the command line is wrong (unknown flag or
// command, stray argument, bad value, unreadable input file).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runError marks an error returned by a command's body; any other error
// cobra returns comes from parsing the command line, so it is a usage error.
type runError struct{ err error }

func (r runError) Error() string { return r.err.Error() }
func (r runError) Unwrap() error { return r.err }

// oneShotGCPercent is the garbage collector's target for every command but
// run: they load a whole cluster once, hold it briefly and exit, so a
// smaller heap is worth more to the node than the collector's CPU (at 10k
// Services `svcnat apply` peaks at ≈ 127 MB instead of ≈ 144 MB, for
// ≈ 10–15% more wall time). GOGC, when set, wins.
const oneShotGCPercent = 40

func main() {
	args := commandLine(filepath.Base(os.Args[0]), os.Args[1:])
	if len(args) > 0 && args[0] != "run" && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(oneShotGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, args)
	stop()
	os.Exit(code)
}

// commandLine makes svcnat a drop-in kube-proxy: invoked under the name
// kube-proxy, or given flags and no command (as a kube-proxy DaemonSet
// does), it is `svcnat run` with those arguments. --help, -h and --version
// alone still belong to svcnat itself.
func commandLine(argv0 string, args []string) []string {
	argv0 = strings.TrimSuffix(argv0, ".exe")
	if argv0 == "kube-proxy" {
		return append([]string{"run"}, args...)
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-h", "--help", "--version":
			return args
		}
		return append([]string{"run"}, args...)
	}
	return args
}

// execute runs one command line and returns the exit status.
func execute(ctx context.Context, e *env, args []string) int {
	root := newRoot(e)
	if len(args) == 0 {
		root.SetOut(e.stderr)
		_ = root.Usage()
		return exitUsage
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	name := "svcnat"
	if cmd != nil && cmd != root {
		name = cmd.CommandPath()
	}
	var re runError
	if errors.As(err, &re) && !errors.As(err, new(usageError)) {
		fmt.Fprintf(e.stderr, "%s: %v\n", name, re.err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "%s: %v (see '%s --help')\n", name, usageMessage(err), name)
	return exitUsage
}

// usageMessage puts a usage error on one line: cobra's unknown command
// error carries its suggestions on further lines.
func usageMessage(err error) string {
	msg, rest, _ := strings.Cut(err.Error(), "\n")
	if _, names, ok := strings.Cut(rest, "Did you mean this?"); ok {
		msg += "; did you mean " + strings.Join(strings.Fields(names), " or ") + "?"
	}
	return msg
}
