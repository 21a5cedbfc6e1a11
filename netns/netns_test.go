package netns_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
)

const port = 8080

var (
	addr = netip.MustParseAddr
	ap   = netip.MustParseAddrPort
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cluster is a lab with an echo server (TCP and UDP) in a local and a remote pod.
type cluster struct {
	lab           *netns.Lab
	local, remote *netns.Pod
}

func newCluster(t *testing.T) cluster {
	t.Helper()
	lab := netnstest.NewLab(t)
	local, err := lab.AddPod("web", addr("10.244.1.5"), addr("fd00:244:1::5"))
	if err != nil {
		t.Fatal(err)
	}
	remote, err := lab.AddRemotePod("db", addr("10.244.2.7"), addr("fd00:244:2::7"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*netns.Pod{local, remote} {
		for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
			if _, err := p.Serve(proto, port); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cluster{lab: lab, local: local, remote: remote}
}

func TestTraffic(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	lab := c.lab
	tests := []struct {
		name string
		from *netns.Host
		dst  string
		seen string // source address the server must see
	}{
		{"client to local pod", lab.Client, "10.244.1.5:8080", "192.168.1.10"},
		{"client to local pod v6", lab.Client, "[fd00:244:1::5]:8080", "fd00:1::10"},
		{"client to remote pod via node", lab.Client, "10.244.2.7:8080", "192.168.1.10"},
		{"client to remote pod via node v6", lab.Client, "[fd00:244:2::7]:8080", "fd00:1::10"},
		{"pod to pod across nodes", c.local.Host, "10.244.2.7:8080", "10.244.1.5"},
		{"pod to pod across nodes v6", c.remote.Host, "[fd00:244:1::5]:8080", "fd00:244:2::7"},
		{"node to local pod", lab.Node, "10.244.1.5:8080", "192.168.1.100"},
		{"node2 to remote pod v6", lab.Node2, "[fd00:244:2::7]:8080", "fd00:1::101"},
	}
	for _, tt := range tests {
		for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
			t.Run(tt.name+"/"+string(proto), func(t *testing.T) {
				t.Parallel()
				dst := ap(tt.dst)
				r, err := tt.from.Dial(ctxT(t), proto, dst, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if r.Server != dst || r.SeenSource.Addr() != addr(tt.seen) {
					t.Errorf("reply %v, want server %v seeing %s", r, dst, tt.seen)
				}
			})
		}
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	for _, dst := range []string{"10.244.1.5:9999", "[fd00:244:2::7]:9999"} {
		for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
			_, err := c.lab.Client.Dial(ctxT(t), proto, ap(dst), time.Second)
			if !netns.IsRefused(err) || netns.IsTimeout(err) || !errors.Is(err, netns.ErrRefused) {
				t.Errorf("%s %s: got %v, want refused", proto, dst, err)
			}
		}
	}
}

// TestTimeout dials a service IP without any DNAT rule: the node routes it
// to the client, which does not forward, so nothing ever answers.
func TestTimeout(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t)
	for _, dst := range []string{"10.96.0.10:80", "[fd00:96::10]:80"} {
		for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
			start := time.Now()
			_, err := lab.Client.Dial(ctxT(t), proto, ap(dst), 300*time.Millisecond)
			if !netns.IsTimeout(err) || netns.IsRefused(err) || !errors.Is(err, netns.ErrTimeout) {
				t.Errorf("%s %s: got %v, want timeout", proto, dst, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s %s: took %v", proto, dst, d)
			}
		}
	}
}

// TestNetfilterVerdicts programs reject and drop rules in the node namespace
// and checks that dials through the node are classified accordingly.
func TestNetfilterVerdicts(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed")
	}
	c := newCluster(t)
	ruleset := `table inet svcnat_test {
	chain forward {
		type filter hook forward priority 0;
		tcp dport 8080 ip daddr 10.244.1.5 reject with icmpx admin-prohibited
		udp dport 8080 ip daddr 10.244.1.5 reject
		ip6 daddr fd00:244:1::5 reject with icmpx admin-prohibited
		ip daddr 10.244.2.7 drop
	}
}`
	cmd := c.lab.Node.Command(ctxT(t), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	if out, err := c.lab.Node.Exec(ctxT(t), "nft", "list", "ruleset"); err != nil || !strings.Contains(out, "svcnat_test") {
		t.Fatalf("nft list ruleset: %v\n%s", err, out)
	}
	for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
		for _, dst := range []string{"10.244.1.5:8080", "[fd00:244:1::5]:8080"} {
			// 0 = DefaultTimeout: TCP over IPv6 sees the ICMPv6 error only
			// after the first SYN retransmission (see IsRefused).
			if _, err := c.lab.Client.Dial(ctxT(t), proto, ap(dst), 0); !netns.IsRefused(err) {
				t.Errorf("%s %s: got %v, want refused", proto, dst, err)
			}
		}
		if _, err := c.lab.Client.Dial(ctxT(t), proto, ap("10.244.2.7:8080"), 300*time.Millisecond); !netns.IsTimeout(err) {
			t.Errorf("%s to dropped pod: got %v, want timeout", proto, err)
		}
	}
}

func TestLongLivedConn(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
		conn, err := c.lab.Client.OpenConnProto(ctxT(t), proto, ap("10.244.2.7:8080"))
		if err != nil {
			t.Fatal(err)
		}
		want := netns.Reply{Server: ap("10.244.2.7:8080"), SeenSource: conn.LocalAddr()}
		if conn.First() != want {
			t.Errorf("%s first reply %v, want %v", proto, conn.First(), want)
		}
		for i := range 5 {
			r, err := conn.Ping()
			if err != nil || r != want {
				t.Fatalf("%s ping %d: %v, %v; want %v", proto, i, r, err, want)
			}
		}
		conn.Close()
		if _, err := conn.Ping(); err == nil {
			t.Errorf("%s ping after close succeeded", proto)
		}
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	t.Parallel()
	if err := netns.Supported(); err != nil {
		t.Skip(err)
	}
	lab, err := netns.New("svcnat-closetest")
	if err != nil {
		t.Fatal(err)
	}
	pod, err := lab.AddPod("a", addr("10.244.1.9"))
	if err != nil {
		lab.Close()
		t.Fatal(err)
	}
	if _, err := pod.Serve(netns.TCP, port); err != nil {
		lab.Close()
		t.Fatal(err)
	}
	// A connection left open must not keep anything alive.
	if _, err := lab.Client.OpenConn(ctxT(t), ap("10.244.1.9:8080")); err != nil {
		lab.Close()
		t.Fatal(err)
	}
	if n := len(namespacesWithPrefix(t, lab.Prefix())); n != 5 {
		t.Errorf("%d namespaces before Close, want 5 (lan, client, node, node2, pod)", n)
	}
	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lab.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if left := namespacesWithPrefix(t, lab.Prefix()); len(left) > 0 {
		t.Errorf("namespaces left after Close: %v", left)
	}
	if _, err := lab.AddPod("b", addr("10.244.1.10")); err == nil {
		t.Error("AddPod after Close succeeded")
	}
}

func namespacesWithPrefix(t *testing.T, prefix string) []string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, _ := strings.Cut(line, " "); strings.HasPrefix(name, prefix+"-") {
			names = append(names, name)
		}
	}
	return names
}

func TestSweep(t *testing.T) {
	t.Parallel()
	if err := netns.Sweep("lab-"); err == nil {
		t.Error("Sweep without svcnat in the prefix succeeded")
	}
	lab := netnstest.NewLab(t, netns.WithPrefix("svcnat-sweeptest"))
	if !strings.HasPrefix(lab.Node.Name(), "svcnat-sweeptest-") || !strings.HasSuffix(lab.Node.Name(), "-node") {
		t.Errorf("node namespace %q", lab.Node.Name())
	}
	if err := netns.Sweep(lab.Prefix() + "-"); err != nil {
		t.Fatal(err)
	}
	if left := namespacesWithPrefix(t, lab.Prefix()); len(left) > 0 {
		t.Errorf("namespaces left after Sweep: %v", left)
	}
}

// TestDo checks that Do runs in the namespace and never changes the root
// namespace: the sysctls written while building the lab stay inside it.
func TestDo(t *testing.T) {
	t.Parallel()
	rootForward, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	lab := netnstest.NewLab(t)
	var inside []byte
	err = lab.Node.Do(func() (err error) {
		inside, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		return err
	})
	if err != nil || strings.TrimSpace(string(inside)) != "1" {
		t.Errorf("ip_forward in node: %q, %v", inside, err)
	}
	after, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil || string(after) != string(rootForward) {
		t.Errorf("root ip_forward changed: %q -> %q (%v)", rootForward, after, err)
	}
	wantErr := errors.New("boom")
	if err := lab.Client.Do(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("Do error %v, want %v", err, wantErr)
	}
	out, err := lab.Node.Exec(ctxT(t), "ip", "-br", "addr", "show", "dev", "eth0")
	if err != nil || !strings.Contains(out, "192.168.1.100/24") || !strings.Contains(out, "fd00:1::100/64") {
		t.Errorf("node eth0: %q, %v", out, err)
	}
}

func TestSCTP(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t)
	pod, err := lab.AddPod("sctp", addr("10.244.1.20"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pod.Serve(netns.SCTP, port)
	if !netns.SCTPSupported() {
		if !errors.Is(err, netns.ErrSCTPUnsupported) {
			t.Fatalf("Serve SCTP on a kernel without SCTP: %v, want ErrSCTPUnsupported", err)
		}
		t.Skip(netns.CheckSCTP())
	}
	if err != nil {
		t.Fatal(err)
	}
	dst := ap("10.244.1.20:8080")
	r, err := lab.Client.Dial(ctxT(t), netns.SCTP, dst, time.Second)
	if err != nil || r.Server != dst || r.SeenSource.Addr() != addr("192.168.1.10") {
		t.Errorf("SCTP dial: %v, %v", r, err)
	}
	if _, err := lab.Client.Dial(ctxT(t), netns.SCTP, ap("10.244.1.20:9999"), time.Second); !netns.IsRefused(err) {
		t.Errorf("SCTP dial to closed port: %v, want refused", err)
	}
}

func TestParseReply(t *testing.T) {
	for _, line := range []string{"10.244.1.5:8080 192.168.1.10:41234\n", "[fd00:244:1::5]:8080 [fd00:1::10]:5"} {
		r, err := netns.ParseReply(line)
		if err != nil || r.String() != strings.TrimSpace(line) {
			t.Errorf("ParseReply(%q) = %v, %v", line, r, err)
		}
	}
	for _, line := range []string{"", "x y", "10.0.0.1:1"} {
		if _, err := netns.ParseReply(line); err == nil {
			t.Errorf("ParseReply(%q) succeeded", line)
		}
	}
}

func TestAddPodErrors(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t)
	bad := []struct {
		name string
		ips  []netip.Addr
	}{
		{"outside-cidr", []netip.Addr{addr("10.244.2.5")}},
		{"no-ip", nil},
		{"two-v4", []netip.Addr{addr("10.244.1.5"), addr("10.244.1.6")}},
		{"Bad_Name", []netip.Addr{addr("10.244.1.5")}},
	}
	for _, b := range bad {
		if _, err := lab.AddPod(b.name, b.ips...); err == nil {
			t.Errorf("AddPod(%q, %v) succeeded", b.name, b.ips)
		}
	}
	if _, err := lab.AddPod("a", addr("10.244.1.5")); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.AddPod("a", addr("10.244.1.6")); err == nil {
		t.Error("duplicate pod name accepted")
	}
	if _, err := netns.New("kubeproxy-test"); err == nil {
		t.Error("New accepted a prefix without svcnat")
	}
}

func TestSingleStack(t *testing.T) {
	t.Parallel()
	p := netip.MustParsePrefix
	lab := netnstest.NewLab(t, netns.WithOptions(netns.Options{
		Client:       []netip.Prefix{p("10.0.0.10/24")},
		Node:         netns.NodeOptions{LAN: []netip.Prefix{p("10.0.0.1/24")}, PodCIDRs: []netip.Prefix{p("10.1.1.0/24")}},
		Node2:        netns.NodeOptions{LAN: []netip.Prefix{p("10.0.0.2/24")}, PodCIDRs: []netip.Prefix{p("10.1.2.0/24")}},
		ServiceCIDRs: []netip.Prefix{p("10.2.0.0/16")},
	}))
	if lab.Node.IPv6().IsValid() || lab.Node.IPv4() != addr("10.0.0.1") {
		t.Errorf("node addresses %v", lab.Node.Addrs())
	}
	pod, err := lab.AddRemotePod("r", addr("10.1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pod.Serve(netns.UDP, 53); err != nil {
		t.Fatal(err)
	}
	r, err := lab.Client.Dial(ctxT(t), netns.UDP, ap("10.1.2.3:53"), time.Second)
	if err != nil || r.SeenSource.Addr() != addr("10.0.0.10") {
		t.Errorf("dial: %v, %v", r, err)
	}
}

func TestScratch(t *testing.T) {
	var path string
	t.Run("inner", func(t *testing.T) {
		path = netnstest.Scratch(t, "scratch")
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists after its test ended (err %v)", path, err)
	}
}

// TestPodBridge: pods behind a node bridge (and with veths named by a
// prefix) reach each other, a remote pod and the client, in both families,
// and report the interface their packets come in by.
func TestPodBridge(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, func(o *netns.Options) {
		o.Node.PodBridge = "cbr0"
		o.Node.PodVethPrefix = "veth"
	})
	a, err := lab.AddPod("a", addr("10.244.1.5"), addr("fd00:244:1::5"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := lab.AddPod("b", addr("10.244.1.6"), addr("fd00:244:1::6"))
	if err != nil {
		t.Fatal(err)
	}
	remote, err := lab.AddRemotePod("r", addr("10.244.2.7"), addr("fd00:244:2::7"))
	if err != nil {
		t.Fatal(err)
	}
	if a.NodeIface() != "cbr0" || !strings.HasPrefix(a.NodeVeth(), "veth") || remote.NodeIface() != remote.NodeVeth() {
		t.Errorf("interfaces: a %s (veth %s), remote %s (veth %s)", a.NodeIface(), a.NodeVeth(), remote.NodeIface(), remote.NodeVeth())
	}
	for _, p := range []*netns.Pod{b, remote} {
		if _, err := p.Serve(netns.TCP, port); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		from *netns.Host
		dst  string
		seen string
	}{
		{a.Host, "10.244.1.6:8080", "10.244.1.5"},
		{a.Host, "[fd00:244:1::6]:8080", "fd00:244:1::5"},
		{a.Host, "10.244.2.7:8080", "10.244.1.5"},
		{a.Host, "[fd00:244:2::7]:8080", "fd00:244:1::5"},
		{lab.Client, "10.244.1.6:8080", "192.168.1.10"},
		{lab.Node, "[fd00:244:1::6]:8080", "fd00:1::100"},
	} {
		r, err := tt.from.Dial(ctxT(t), netns.TCP, ap(tt.dst), 2*time.Second)
		if err != nil {
			t.Errorf("%s -> %s: %v", tt.from, tt.dst, err)
			continue
		}
		if r.SeenSource.Addr() != addr(tt.seen) {
			t.Errorf("%s -> %s: server saw %s, want %s", tt.from, tt.dst, r.SeenSource, tt.seen)
		}
	}
	out, err := lab.Node.Exec(ctxT(t), "ip", "-o", "link", "show", "master", "cbr0")
	if err != nil || strings.Count(string(out), "veth") != 2 {
		t.Errorf("ports of cbr0: %s %v", out, err)
	}
}
