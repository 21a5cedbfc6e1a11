//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// kubeProxyBin is upstream kube-proxy v1.37.2, built by tools/kubernetes.
func kubeProxyBin(t *testing.T) string {
	t.Helper()
	bin, err := labtest.KubeProxy(env.repo)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestMigrateFromKubeProxy follows deploy/README.md's migration on node-2
// under traffic, for each mode: real kube-proxy serves a NodePort Service;
// svcnat starts beside it with the same configuration; kube-proxy stops;
// `svcnat cleanup --kube-proxy` removes its rules; then back (rollback):
// kube-proxy starts, svcnat stops, `svcnat cleanup` removes svcnat's rules.
// New connections (from outside to the NodePort, from a pod to the
// ClusterIP) and established ones must all survive every step.
func TestMigrateFromKubeProxy(t *testing.T) {
	upstream := kubeProxyBin(t)
	for i, mode := range []string{"nftables", "iptables"} {
		t.Run(mode, func(t *testing.T) {
			n := newKubeadmNode(t, "migrate-"+mode, mode)
			m := &migration{t: t, node: n, upstream: upstream, mode: mode}
			m.run(int32(30190 + i))
		})
	}
}

type migration struct {
	t         *testing.T
	node      *kubeadmNode
	upstream  string
	mode      string
	kp, sn    *labtest.Proc
	clusterIP netip.Addr
}

func (m *migration) run(port int32) {
	t := m.t
	pods := newPods(t, 2, true)
	client := newPod(t, true)
	svc := createService(t, svcSpec{name: "migrate-" + m.mode, typ: corev1.ServiceTypeNodePort, nodePort: port})
	setSlice(t, svc, portA, readyEps(pods...))
	m.clusterIP = clusterIP(t, svc)
	np := netip.AddrPortFrom(m.node.host.IPv4(), uint16(port))

	m.kp = m.start("kube-proxy", m.upstream)
	m.awaitRules("kube-proxy", true)
	await(t, "kube-proxy serves the NodePort", time.Now(), env.lab.Client, np, answers)

	held := openConns(t, []*netns.Host{env.lab.Client, client.host()}, []netip.AddrPort{np, svcAddr(t, svc)})
	outside := startTraffic(env.lab.Client, np, 20*time.Millisecond)
	inside := startTraffic(client.host(), svcAddr(t, svc), 20*time.Millisecond)

	m.step("start svcnat beside kube-proxy", func() {
		m.sn = m.start("svcnat", m.node.link)
		m.awaitRules("svcnat", true)
	})
	m.step("stop kube-proxy", func() { m.stop(m.kp) })
	m.step("svcnat cleanup --kube-proxy", func() {
		m.exec(env.svcnatBin, "cleanup", "--kube-proxy", "--netns", m.node.host.Path())
		m.awaitRules("kube-proxy", false)
	})
	held.ping(t, "after the migration")
	m.step("rollback: start kube-proxy", func() {
		m.kp = m.start("kube-proxy", m.upstream)
		m.awaitRules("kube-proxy", true)
	})
	m.step("rollback: stop svcnat", func() { m.stop(m.sn) })
	m.step("rollback: svcnat cleanup", func() {
		m.exec(env.svcnatBin, "cleanup", "--backend", m.mode, "--netns", m.node.host.Path())
		m.awaitRules("svcnat", false)
	})
	held.ping(t, "after the rollback")
	checkTraffic(t, outside)
	checkTraffic(t, inside)
	m.stop(m.kp)
	m.exec(m.upstream, "--cleanup", "--config="+m.node.config)
}

// step runs one migration step, with a pause for traffic on either side.
func (m *migration) step(name string, fn func()) {
	m.t.Helper()
	t0 := time.Now()
	time.Sleep(300 * time.Millisecond)
	fn()
	time.Sleep(300 * time.Millisecond)
	m.t.Logf("%-36s %v", name, time.Since(t0).Round(time.Millisecond))
}

// start runs bin as a kubeadm DaemonSet would run kube-proxy, on node-2.
func (m *migration) start(name, bin string) *labtest.Proc {
	m.t.Helper()
	return startProc(m.t, name, m.node.host, filepath.Join(m.node.dir, name+".log"),
		bin, "--config="+m.node.config, "--hostname-override="+node2Name)
}

func (m *migration) stop(p *labtest.Proc) {
	m.t.Helper()
	if err := p.Stop(stopGrace); err != nil {
		m.t.Errorf("stop %s: %v", p.Name(), err)
	}
}

func (m *migration) exec(argv ...string) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := m.node.host.Command(ctx, argv...).CombinedOutput(); err != nil {
		m.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// awaitRules waits (bounded) until owner's rules in node-2's kernel do or
// do not hold the Service's ClusterIP.
func (m *migration) awaitRules(owner string, present bool) {
	m.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := rulesHold(m.node.host, owner, m.clusterIP)
		if err == nil && got == present {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s's rules for %v: present=%v after 60 s, want %v (%v)", owner, m.clusterIP, got, present, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rulesHold reports whether owner ("kube-proxy" or "svcnat") has a rule or
// element for ip in h's nftables or iptables (either flavour).
func rulesHold(h *netns.Host, owner string, ip netip.Addr) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	table, chain := "kube-proxy", "KUBE-SERVICES"
	if owner == "svcnat" {
		table, chain = "svcnat", "SVCNAT-"
	}
	if out, err := h.Exec(ctx, "nft", "list", "table", "ip", table); err == nil && strings.Contains(out, ip.String()) {
		return true, nil
	}
	for _, save := range []string{"iptables-nft-save", "iptables-legacy-save"} {
		out, err := h.Exec(ctx, save, "-t", "nat")
		if err != nil {
			return false, fmt.Errorf("%s: %w", save, err)
		}
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, "-A "+chain) && strings.Contains(line, ip.String()+"/32") {
				return true, nil
			}
		}
	}
	return false, nil
}

// heldConns are established connections that must survive every step.
type heldConns []*netns.Conn

func openConns(t *testing.T, from []*netns.Host, to []netip.AddrPort) heldConns {
	t.Helper()
	var cs heldConns
	for i, h := range from {
		for range 2 {
			c, err := h.OpenConn(t.Context(), to[i])
			if err != nil {
				t.Fatalf("open a long connection to %v: %v", to[i], err)
			}
			t.Cleanup(func() { c.Close() })
			cs = append(cs, c)
		}
	}
	return cs
}

func (cs heldConns) ping(t *testing.T, when string) {
	t.Helper()
	for _, c := range cs {
		r, err := c.Ping()
		switch {
		case err != nil:
			t.Errorf("%s: established connection from %v broken: %v", when, c.LocalAddr(), err)
		case r.Server != c.First().Server:
			t.Errorf("%s: established connection moved from %v to %v", when, c.First().Server, r.Server)
		}
	}
}
