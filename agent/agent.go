package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/svcnat/svcnat/agent/conntrack"
	"github.com/svcnat/svcnat/agent/healthcheck"
	"github.com/svcnat/svcnat/agent/metrics"
	"github.com/svcnat/svcnat/agent/runner"
	"github.com/svcnat/svcnat/agent/source"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// Agent keeps a Backend's rules in sync with a Source.
type Agent struct {
	cfg     Config
	src     source.Source
	be      backend.Backend
	log     logr.Logger
	metrics *metrics.Metrics
	health  *healthcheck.ProxyHealth
	svcHC   *healthcheck.ServiceHealth
	runner  *runner.Runner
	started time.Time
	ready   chan struct{}
	status  statusBoard
	// families are the ip_family label values of the families the last
	// Build produced; written by syncs, read by Changed.
	families atomic.Pointer[[]string]
	recorder *eventRecorder // nil: no Events

	// Touched only by syncs, which never overlap.
	applied  []*synth.Ruleset
	warnings map[string]bool
	triggers map[string]time.Time
	// programmed are the slices observeProgramming last saw.
	programmed []*synth.EndpointSlice
	builder    synth.Builder // remembers unchanged Services between syncs
	// slices turns a source's API EndpointSlices (the manifest folder's)
	// into synth's compact ones, the same for an unchanged object.
	slices synth.SliceMemo
	// unapplied is what the builder reported changed since the last
	// successful Commit (nil: not known), for the backend to plan by.
	unapplied *synth.Changes
	readyOnce sync.Once
	hcFailing map[uint16]bool // health check node ports that failed to open
	noLocal   noLocalTally    // of the applied rulesets
}

// NewAgent returns an agent that programs be from src. Call Run to start it.
func NewAgent(cfg Config, src source.Source, be backend.Backend) *Agent {
	cfg = cfg.withDefaults()
	a := &Agent{
		cfg:      cfg,
		src:      src,
		be:       be,
		log:      cfg.Logger.WithName("agent").WithValues("backend", be.Name()),
		metrics:  metrics.New(metrics.Options{Mode: be.Name(), Version: cfg.Version, Revision: cfg.Revision}),
		health:   healthcheck.NewProxyHealth(cfg.Clock, cfg.HealthTimeout),
		ready:    make(chan struct{}),
		warnings: map[string]bool{},
		triggers: map[string]time.Time{},
	}
	a.health.OnProbe = a.countProbe
	a.svcHC = healthcheck.NewServiceHealth(cfg.HealthCheckBindAddress, a.health, a.log.WithName("healthcheck"))
	a.runner = runner.New(a.sync, runner.Config{
		MinInterval: cfg.MinSyncPeriod,
		MaxInterval: cfg.SyncPeriod,
		Clock:       cfg.Clock,
	})
	return a
}

// Metrics returns the agent's metrics (its registry is private).
func (a *Agent) Metrics() *metrics.Metrics { return a.metrics }

// Health returns the agent's health tracker (its Handler serves /healthz
// and /livez).
func (a *Agent) Health() *healthcheck.ProxyHealth { return a.health }

// countProbe counts the answers of /healthz and /livez.
func (a *Agent) countProbe(path string, code int) {
	c := a.metrics.ProxyLivezTotal
	if path == "/healthz" {
		c = a.metrics.ProxyHealthzTotal
	}
	c.WithLabelValues(strconv.Itoa(code)).Inc()
}

// Ready is closed after the first successful sync.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// closeBackend releases the backend's sockets; the rules stay in place.
func (a *Agent) closeBackend() {
	if err := a.be.Close(); err != nil {
		a.log.Error(err, "Closing the backend failed", "backend", a.be.Name())
	}
}

// Run serves metrics and health, waits for the source to sync, then keeps
// the rules in sync until ctx is done. It returns nil after ctx is done
// and leaves the rules in place; it returns an error when a server cannot
// listen or the source fails. It closes the backend when it returns.
func (a *Agent) Run(ctx context.Context) error {
	defer a.closeBackend() // deferred first: runs after every sync has ended
	ctx = klog.NewContext(ctx, a.log)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.started = a.cfg.Clock.Now()
	// The initial state must be programmed within the health timeout, even
	// when the source never syncs (an unreachable API server).
	a.health.Queued()
	recorder, stopEvents := a.startEvents(ctx)
	defer stopEvents()
	a.recorder = recorder
	stopServers, err := a.startServers()
	if err != nil {
		return err
	}
	defer stopServers()
	a.birthCry()
	closeCT, err := a.openConntrack()
	if err != nil {
		return err
	}
	defer closeCT()
	defer a.svcHC.Close()

	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // no goroutine outlives Run
	srcErr := make(chan error, 1)
	wg.Go(func() { srcErr <- a.src.Run(ctx, a) })
	a.log.Info("Waiting for the source to sync")
	select {
	case <-a.src.Synced():
		a.log.Info("Source synced", "sinceStart", a.cfg.Clock.Since(a.started).Round(time.Millisecond))
	case <-ctx.Done():
		return nil
	case err := <-srcErr:
		return sourceError(err)
	}
	wg.Go(func() { _ = a.runner.Loop(ctx) })
	select {
	case <-ctx.Done():
		a.log.Info("Stopping; rules stay in place")
		return nil
	case err := <-srcErr:
		return sourceError(err)
	}
}

func sourceError(err error) error {
	if err == nil {
		err = errors.New("stopped unexpectedly")
	}
	return fmt.Errorf("source: %w", err)
}

// openConntrack opens the default netlink cleaner unless one was given,
// and returns what releases it.
func (a *Agent) openConntrack() (closeFn func(), err error) {
	if a.cfg.Conntrack != nil {
		return func() {}, nil
	}
	c, err := conntrack.NewCleaner(a.cfg.NetNS)
	if err != nil {
		return nil, err
	}
	a.cfg.Conntrack = c
	return func() { c.Close(); a.cfg.Conntrack = nil }, nil
}

// Changed implements source.Handler: it only marks the state dirty.
func (a *Agent) Changed(kind source.Kind) {
	switch kind {
	case source.Service:
		a.metrics.ServiceChangesTotal.Inc()
		a.metrics.ServiceChangesPending.Inc()
	case source.EndpointSlice:
		a.metrics.EndpointChangesTotal.Inc()
		a.metrics.EndpointChangesPending.Inc()
	}
	a.setLastQueued(a.cfg.Clock.Now())
	a.health.Queued()
	a.runner.Trigger()
}

// InputError implements source.Handler.
func (a *Agent) InputError(err error) {
	a.metrics.SourceErrors.Inc()
	a.log.Error(err, "Ignoring input; keeping the last good state")
}

// setLastQueued records when a sync was last queued, for every family.
func (a *Agent) setLastQueued(t time.Time) {
	if fams := a.families.Load(); fams != nil {
		for _, f := range *fams {
			a.metrics.SyncProxyRulesLastQueuedTimestamp.WithLabelValues(f).Set(unixSeconds(t))
		}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
