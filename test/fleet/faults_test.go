//go:build fleet

package fleet

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
)

// Bounds of the fault phases. recoveryLimit is long enough to measure
// client-go's watch backoff after an outage (kube-proxy needs 30-60 s).
const (
	recoveryLimit = 3 * time.Minute
	etcdDown      = 5 * time.Second
	rebootSample  = 20
	// rebootProfileFor is the length of a rebooted proxy's CPU profile.
	rebootProfileFor = 4 * time.Second
	// settleFor is how long the API server must stay ready, and every
	// proxy healthy, before a settled reboot.
	settleFor = 5 * time.Second
)

// faults runs the fault phases in turn, under churn and traffic.
func (r *run) faults() {
	r.apiOutage()
	r.etcdRestart()
	r.nodeReboots()
	r.rollingRestart()
}

// apiOutage stops the API server for the outage period, then times how
// long after it is ready again every node serves the first change.
func (r *run) apiOutage() {
	must(r.t, r.cluster.StopAPIServer())
	select {
	case <-r.ctx.Done():
		r.t.Fatal(r.ctx.Err())
	case <-time.After(r.cfg.outage):
	}
	must(r.t, r.cluster.StartAPIServer(r.ctx))
	r.res.outageRecovery = r.probeSince(0, time.Now(), recoveryLimit)
	r.t.Logf("API server outage %v: every node served the next change %v after the API server was ready",
		r.cfg.outage, r.res.outageRecovery.Round(time.Millisecond))
}

// etcdRestart restarts etcd and times the first change after it.
func (r *run) etcdRestart() {
	must(r.t, r.cluster.RestartEtcd(r.ctx, etcdDown))
	r.res.etcdRecovery = r.probeSince(1, time.Now(), recoveryLimit)
	r.t.Logf("etcd restart (%v down): every node served the next change %v after the API server was ready",
		etcdDown, r.res.etcdRecovery.Round(time.Millisecond))
}

// nodeReboots reboots node-1 once right after the etcd restart, as the
// phases follow each other (the API server has just become ready again
// and every proxy's watches resume at once), then cfg.reboots times once
// the fleet has settled: what a node's own reboot costs, each a sample.
func (r *run) nodeReboots() {
	r.res.rebootAfterEtcd = r.nodeReboot(false)
	r.t.Logf("%s rebooted right after the etcd restart: rules served %v after its proxy started",
		r.proxies[0].node.Name, r.res.rebootAfterEtcd.Round(time.Millisecond))
	for i := range r.cfg.reboots {
		r.settle()
		d := r.nodeReboot(r.cfg.rebootProfile && i == 0)
		r.res.reboots = append(r.res.reboots, d)
		r.t.Logf("%s rebooted (settled, %d of %d): rules served %v after its proxy started",
			r.proxies[0].node.Name, i+1, r.cfg.reboots, d.Round(time.Millisecond))
	}
}

// settle waits until the API server has stayed ready, and every proxy
// healthy, for settleFor.
func (r *run) settle() {
	_, err := labtest.Eventually(r.ctx, recoveryLimit, time.Second, func(ctx context.Context) error {
		return labtest.Steady(ctx, settleFor, 500*time.Millisecond, func(ctx context.Context) error {
			if err := r.cluster.WaitReady(ctx, time.Second); err != nil {
				return err
			}
			for _, p := range r.proxies {
				if err := p.awaitHealthy(ctx, time.Second); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		r.t.Fatalf("the fleet did not settle: %v", err)
	}
}

// nodeReboot kills node-1's proxy, flushes its rules and conntrack table
// (what a reboot leaves) and starts the proxy again: it returns the time
// until the node serves every probe and a sample of Services. Traffic
// pauses, since the node's rules are gone on purpose.
func (r *run) nodeReboot(profile bool) time.Duration {
	p := r.proxies[0]
	r.traffic.pause()
	defer r.traffic.resume()
	must(r.t, p.stop(0))
	for _, argv := range [][]string{{"nft", "flush", "ruleset"}, {"conntrack", "-F"}} {
		if _, err := p.node.Host.Exec(r.ctx, argv...); err != nil {
			r.t.Fatalf("reboot %s: %v", p.node.Name, err)
		}
	}
	sample := r.load.sample(rebootSample)
	started := time.Now()
	must(r.t, p.start())
	if profile {
		profiled := r.profileReboot(p)
		defer func() { <-profiled }()
	}
	// The first answer through the new rules (dials overlap, so it is not
	// a dial timeout late), then everything else must be served too.
	clusterIP, ep := r.load.probe(0)
	_, err := awaitAnswer(r.ctx, p.node, netip.AddrPortFrom(clusterIP, servicePort), ep, started, recoveryLimit)
	must(r.t, err)
	_, err = labtest.Eventually(r.ctx, recoveryLimit, 50*time.Millisecond, func(ctx context.Context) error {
		return r.load.serves(ctx, p.node, sample)
	})
	must(r.t, err)
	return time.Since(started)
}

// profileReboot takes a CPU profile of p's first rebootProfileFor in the
// background (FLEET_REBOOT_PROFILE=1); the channel closes when it is saved.
func (r *run) profileReboot(p *proxy) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(r.dir, r.kind+"-"+p.node.Name+".reboot.cpu.pprof")
		if err := p.saveCPUProfile(r.ctx, path, rebootProfileFor); err != nil {
			r.t.Logf("reboot CPU profile: %v", err)
			return
		}
		r.t.Logf("reboot CPU profile: %s", path)
	}()
	return done
}

// rollingRestart restarts every proxy in turn, as a DaemonSet rollout
// does, and counts the connections that failed meanwhile. A proxy still
// running a grace period after SIGTERM is killed, as kubelet does; that
// is logged (kube-proxy in the middle of a full sync at 10k took longer
// than 10 s), and for svcnat, which must stop within it, an error.
func (r *run) rollingRestart() {
	before := r.traffic.failed()
	t0 := time.Now()
	for _, p := range r.proxies {
		if err := p.stop(rolloutGrace); errors.Is(err, labtest.ErrKilled) {
			r.t.Logf("%v, as kubelet does", err)
			if p.kind == "svcnat" {
				r.t.Errorf("svcnat did not stop within %v of SIGTERM", rolloutGrace)
			}
		} else {
			must(r.t, err)
		}
		must(r.t, p.start())
		must(r.t, p.awaitHealthy(r.ctx, r.cfg.syncLimit))
	}
	r.res.rollingFailed = r.traffic.failed() - before
	r.t.Logf("rolling restart of %d proxies in %v: %d failed connections", len(r.proxies),
		time.Since(t0).Round(time.Millisecond), r.res.rollingFailed)
}
