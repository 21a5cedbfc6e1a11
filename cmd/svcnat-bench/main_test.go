package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/internal/cliexit"
)

// TestSmoke runs the whole driver on 100 Services with both backends, so
// `make test` keeps the benchmark path working. RSS is skipped (it needs
// the svcnat binary).
func TestSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"--sizes", "100", "--repeat", "1", "--svcnat", ""}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 100 × 10 | nftables |", "| 100 × 10 | iptables |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestCommandLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cliexit.Code("svcnat-bench", run(context.Background(), []string{"--help"}, &stdout), &stderr); code != 0 || stderr.Len() != 0 {
		t.Errorf("--help: exit %d, stderr %q", code, stderr.String())
	}
	for _, want := range []string{"Usage:\n  svcnat-bench [flags]", "Examples:", "--sizes string", "Exit status"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, args := range [][]string{{"--bogus"}, {"--sizes", "ten"}, {"extra"}} {
		stderr.Reset()
		if code := cliexit.Code("svcnat-bench", run(context.Background(), args, &bytes.Buffer{}), &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

func TestVMHWM(t *testing.T) {
	status := []byte("Name:\tsvcnat\nVmPeak:\t  812345 kB\nVmHWM:\t   98765 kB\nVmRSS:\t   12 kB\n")
	if kib, ok := vmHWM(status); !ok || kib != 98765 {
		t.Errorf("vmHWM = %d, %v; want 98765", kib, ok)
	}
	if _, ok := vmHWM([]byte("Name:\tzombie\n")); ok {
		t.Error("vmHWM found a line that is not there")
	}
}

// TestRunPeakRSS runs a shell that holds a 40 MB string for a moment: its
// own peak must be seen, and not this test process's size.
func TestRunPeakRSS(t *testing.T) {
	ballast := make([]byte, 300<<20) // makes this process far larger than the child
	for i := range ballast {
		ballast[i] = 1
	}
	cmd := exec.Command("/bin/sh", "-c", `x=$(head -c 40000000 /dev/zero | tr '\0' a); sleep 0.2; echo ${#x}`)
	kib, out, err := runPeakRSS(cmd)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if kib < 35<<10 || kib > 200<<10 {
		t.Errorf("peak RSS %d KiB, want about 40-80 MiB (output %q)", kib, out)
	}
	runtime.KeepAlive(ballast)
}
