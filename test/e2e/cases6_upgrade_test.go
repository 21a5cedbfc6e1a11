//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// previousRelease is the svcnat revision the rolling-upgrade test upgrades
// from (and rolls back to): the last one before the kube-proxy drop-in
// work. E2E_OLD_REV overrides it.
const previousRelease = "d660ecd"

// TestRollingUpgrade replaces svcnat by the previous release's binary and
// back on node-2 (SIGTERM, start), as a DaemonSet rolling update does,
// under traffic, for each backend: no connection may fail, and the new
// process must adopt the rules in place: the kernel keeps the same svcnat
// table (nftables) or the same jump rule with its counters (iptables).
func TestRollingUpgrade(t *testing.T) {
	old := buildOldSvcnat(t)
	for i, backend := range []string{"nftables", "iptables"} {
		t.Run(backend, func(t *testing.T) {
			pods := newPods(t, 2, true)
			svc := createService(t, svcSpec{name: "upgrade-" + backend, typ: corev1.ServiceTypeNodePort, nodePort: int32(30195 + i)})
			setSlice(t, svc, portA, readyEps(pods...))
			np := netip.AddrPortFrom(env.lab.Node2.IPv4(), uint16(30195+i))
			dir := filepath.Join(env.dir, "upgrade-"+backend)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			p := startNode2Agent(t, dir, "old", old, backend)
			await(t, "old svcnat serves the NodePort", time.Now(), env.lab.Client, np, answers)
			held := openConns(t, []*netns.Host{env.lab.Client}, []netip.AddrPort{np})
			tr := startTraffic(env.lab.Client, np, 20*time.Millisecond)
			before := ruleIdentity(t, backend)
			for _, next := range []struct{ name, bin string }{{"new", env.svcnatBin}, {"old", old}, {"new", env.svcnatBin}} {
				t0 := time.Now()
				if err := p.Stop(stopGrace); err != nil {
					t.Fatalf("stop: %v", err)
				}
				p = startNode2Agent(t, dir, next.name, next.bin, backend)
				waitRulesSynced(t, p)
				t.Logf("replaced by the %s binary in %v", next.name, time.Since(t0).Round(time.Millisecond))
				time.Sleep(time.Second) // traffic through the new process's first syncs
				if after := ruleIdentity(t, backend); !after.adopts(before) {
					t.Errorf("the %s binary did not adopt the rules: before %+v, after %+v", next.name, before, after)
				}
			}
			held.ping(t, "after the upgrades")
			checkTraffic(t, tr)
			if err := p.Stop(stopGrace); err != nil {
				t.Errorf("stop: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if out, err := env.lab.Node2.Command(ctx, env.svcnatBin, "cleanup", "--backend", backend).CombinedOutput(); err != nil {
				t.Errorf("svcnat cleanup: %v\n%s", err, out)
			}
		})
	}
}

// buildOldSvcnat builds cmd/svcnat of the previous release from `git
// archive`, so the work tree and .git stay untouched.
func buildOldSvcnat(t *testing.T) string {
	t.Helper()
	rev := envOr("E2E_OLD_REV", previousRelease)
	src := filepath.Join(env.dir, "old-src")
	bin := filepath.Join(env.dir, "svcnat-"+rev)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if exec.CommandContext(ctx, "git", "-C", env.repo, "cat-file", "-e", rev+"^{commit}").Run() != nil {
		t.Skipf("the previous release %s is not in this clone's history (a shallow clone?); set E2E_OLD_REV", rev)
	}
	archive := fmt.Sprintf("git -C %q archive %q | tar -x -C %q", env.repo, rev, src)
	if out, err := exec.CommandContext(ctx, "sh", "-c", archive).CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	if err := labtest.GoBuild(ctx, src, "./cmd/svcnat", bin, ""); err != nil {
		t.Fatalf("build svcnat %s: %v", rev, err)
	}
	return bin
}

// startNode2Agent runs `svcnat run` on node-2 with the flags both releases
// understand.
func startNode2Agent(t *testing.T, dir, name, bin, backend string) *labtest.Proc {
	t.Helper()
	return startProc(t, "svcnat "+name, env.lab.Node2, filepath.Join(dir, "svcnat.log"), bin, "run",
		"--kubeconfig="+env.cluster.Kubeconfig(), "--hostname-override="+node2Name,
		"--node-ip="+env.lab.Node2.IPv4().String(), "--cluster-cidr="+clusterCIDR,
		"--service-cidr="+serviceCIDR, "--backend="+backend)
}

// waitRulesSynced waits until the agent on node-2 answers /healthz 200.
func waitRulesSynced(t *testing.T, p *labtest.Proc) {
	t.Helper()
	if _, err := waitHealthz(t.Context(), p, env.lab.Client, env.lab.Node2); err != nil {
		t.Fatalf("%s: %v", p.Name(), err)
	}
}

// identity is what a flush or re-creation of the rules would change.
type identity struct {
	// tableHandle is the handle of nftables' ip svcnat table.
	tableHandle string
	// jumpPackets counts packets through iptables' jump into svcnat's chains.
	jumpPackets int
}

// adopts reports whether cur is the same kernel state as before, only
// older: same table, counters never reset.
func (cur identity) adopts(before identity) bool {
	return cur.tableHandle == before.tableHandle && cur.jumpPackets >= before.jumpPackets
}

var (
	handleRE  = regexp.MustCompile(`table ip svcnat \{ # handle (\d+)`)
	countedRE = regexp.MustCompile(`^\[(\d+):\d+\] -A PREROUTING .*-j SVCNAT-`)
)

func ruleIdentity(t *testing.T, backend string) identity {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var id identity
	if backend == "nftables" {
		out, err := env.lab.Node2.Exec(ctx, "nft", "-a", "list", "table", "ip", "svcnat")
		m := handleRE.FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("nft -a list table ip svcnat: %v\n%s", err, out)
		}
		id.tableHandle = m[1]
		return id
	}
	for _, save := range []string{"iptables-nft-save", "iptables-legacy-save"} {
		out, err := env.lab.Node2.Exec(ctx, save, "-c", "-t", "nat")
		if err != nil {
			t.Fatalf("%s: %v", save, err)
		}
		for line := range strings.Lines(out) {
			if m := countedRE.FindStringSubmatch(line); m != nil {
				fmt.Sscan(m[1], &id.jumpPackets)
				id.tableHandle = save
				return id
			}
		}
	}
	t.Fatal("no jump into SVCNAT- chains in PREROUTING")
	return id
}
