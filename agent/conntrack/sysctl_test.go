package conntrack

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/svcnat/svcnat/netns/netnstest"
)

func int32p(v int32) *int32                  { return &v }
func durp(d time.Duration) *time.Duration    { return &d }
func secs(n int) time.Duration               { return time.Duration(n) * time.Second }
func readSysctl(name string) (string, error) { return readTrimmed(sysctlDir + name) }

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func TestMax(t *testing.T) {
	for _, tc := range []struct {
		cfg  Sysctls
		ncpu int
		want int
	}{
		{Sysctls{}, 8, 0},
		{Sysctls{MaxPerCore: int32p(0), Min: int32p(131072)}, 8, 0}, // 0: leave it, min ignored
		{Sysctls{MaxPerCore: int32p(32768), Min: int32p(131072)}, 2, 131072},
		{Sysctls{MaxPerCore: int32p(32768), Min: int32p(131072)}, 8, 262144},
		{Sysctls{MaxPerCore: int32p(32768)}, 1, 32768},
		{Sysctls{MaxPerCore: int32p(32768), Min: int32p(131072)}, 64, 1 << 20}, // capped
	} {
		if got := tc.cfg.Max(tc.ncpu); got != tc.want {
			t.Errorf("Max(%v per core, min %v, %d CPUs) = %d, want %d", tc.cfg.MaxPerCore, tc.cfg.Min, tc.ncpu, got, tc.want)
		}
	}
}

func TestCountCPUList(t *testing.T) {
	for s, want := range map[string]int{"0": 1, "0-1": 2, "0-3,8,10-11": 7} {
		if n, ok := countCPUList(s); !ok || n != want {
			t.Errorf("%q: %d %v, want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "a", "3-1", "0-"} {
		if _, ok := countCPUList(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
	if OnlineCPUs() < 1 {
		t.Error("OnlineCPUs < 1")
	}
}

// watched are the settings Apply may write, per namespace and global.
var watched = []string{
	sysctlDir + "nf_conntrack_tcp_timeout_established",
	sysctlDir + "nf_conntrack_tcp_timeout_close_wait",
	sysctlDir + "nf_conntrack_tcp_be_liberal",
	sysctlDir + "nf_conntrack_udp_timeout",
	sysctlDir + "nf_conntrack_udp_timeout_stream",
	sysctlDir + "nf_conntrack_max",
	hashsize,
}

// snapshot reads the watched settings from the test's own (root)
// namespace, or from the namespace at path.
func snapshot(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := inNetNS(path, func(bool) error {
		for _, p := range watched {
			v, err := readTrimmed(p)
			if err != nil {
				return err
			}
			out[p] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyInScratchNamespace sets every setting in a scratch namespace:
// the per-namespace ones read back as set there, the global ones are left
// as they are (and said so in the log), and the root namespace's values
// are the same before and after.
func TestApplyInScratchNamespace(t *testing.T) {
	if _, err := os.Stat(sysctlDir + "nf_conntrack_max"); err != nil {
		t.Skipf("nf_conntrack is not loaded: %v", err)
	}
	ns := netnstest.Scratch(t, "ctsysctl")
	root := snapshot(t, "")
	before := snapshot(t, ns)
	// Values no kernel default has, so a stale read cannot pass.
	cfg := Sysctls{
		MaxPerCore:            int32p(1 << 30), // capped: a global write would show in the root snapshot
		Min:                   int32p(131072),
		TCPEstablishedTimeout: durp(secs(4242)),
		TCPCloseWaitTimeout:   durp(secs(42)),
		TCPBeLiberal:          true,
		UDPTimeout:            secs(43),
		UDPStreamTimeout:      secs(143),
	}
	var log strings.Builder
	logger := funcr.New(func(prefix, args string) { fmt.Fprintln(&log, prefix, args) }, funcr.Options{})
	if err := Apply(ns, cfg, 2, logger); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, ns)
	want := map[string]string{
		sysctlDir + "nf_conntrack_tcp_timeout_established": "4242",
		sysctlDir + "nf_conntrack_tcp_timeout_close_wait":  "42",
		sysctlDir + "nf_conntrack_tcp_be_liberal":          "1",
		sysctlDir + "nf_conntrack_udp_timeout":             "43",
		sysctlDir + "nf_conntrack_udp_timeout_stream":      "143",
		sysctlDir + "nf_conntrack_max":                     before[sysctlDir+"nf_conntrack_max"],
		hashsize:                                           before[hashsize],
	}
	for p, v := range want {
		if after[p] != v {
			t.Errorf("%s in the scratch namespace: %s, want %s", p, after[p], v)
		}
	}
	if got := snapshot(t, ""); fmt.Sprint(got) != fmt.Sprint(root) {
		t.Errorf("the root namespace changed:\nbefore %v\nafter  %v", root, got)
	}
	if n := strings.Count(log.String(), "left as they are"); n != 1 {
		t.Errorf("want one log line about the global settings, got %d:\n%s", n, log.String())
	}

	// A second Apply writes nothing (every value is already there), and a
	// zero config leaves everything as it is.
	log.Reset()
	if err := Apply(ns, cfg, 2, logger); err != nil || strings.Contains(log.String(), "Set conntrack setting") {
		t.Errorf("second Apply: %v\n%s", err, log.String())
	}
	if err := Apply(ns, Sysctls{}, 2, logger); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, ns); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Errorf("a zero config changed the scratch namespace:\nbefore %v\nafter  %v", after, got)
	}
}

func TestApplyBadNamespace(t *testing.T) {
	err := Apply("/nonexistent/netns", Sysctls{UDPTimeout: secs(1)}, 1, funcr.New(func(string, string) {}, funcr.Options{}))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/netns") {
		t.Errorf("Apply in a missing namespace: %v", err)
	}
}
