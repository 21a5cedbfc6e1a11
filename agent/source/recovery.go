package source

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Outage recovery. A restarted API server's watch cache has no history,
// so every watch resumed after an outage fails ("too old resource
// version") and client-go's reflectors relist only after their
// exponential backoff, which an outage of tens of seconds has grown to up
// to 30 s. Run therefore probes the API server's readiness, and once it
// answers again after an outage (ready or not: it serves lists before all
// its readiness checks pass) it lists everything anew with a fresh set of
// informers, serving the old caches until the new ones are complete.
//
// Not every outage needs that. While etcd restarts, the API server answers
// "not ready" but keeps running: its watch cache, and the informers'
// watches on it, survive, and the next change arrives as soon as etcd is
// back. A relist then only costs: 20k objects per node at 10k Services,
// from every node at once, which also slows a node starting meanwhile. So
// the informers are restarted only after an outage in which the API
// server refused connections (it may have restarted), or answered "not
// ready" (or not in time) for so long that the reflectors' backoff may
// have grown, and some informer's watch did not live through it (a
// watchTracker tells).
const (
	// probeEvery and probeTimeout: a probe every 2 s costs each node's
	// agent half a cheap request per second.
	probeEvery   = 2 * time.Second
	probeTimeout = 2 * time.Second
	// probeServerTimeout is the timeout the API server is asked to answer
	// within: a readiness check that hangs (etcd down) then still gives an
	// answer (504), which tells a running API server from an unreachable one.
	probeServerTimeout = time.Second
	// outageProbeEvery is how often the API server is probed while it
	// refuses connections: a refused connection costs nothing, and it
	// bounds the time from the API server answering to the relist to
	// outageProbeEvery + restartJitter. An API server that answers "not
	// ready" is probed every probeEvery: it is up, and every node asking
	// more often would only add to its load.
	outageProbeEvery = 500 * time.Millisecond
	// outageProbes failed probes in a row are an outage. A single slow
	// or failed probe is not: a needless relist of the whole cluster from
	// every node costs the API server more than the reflectors' own short
	// backoff after a blip.
	outageProbes = 2
	// notReadyRelist: after answering "not ready" this long, the API
	// server may have terminated watches that the reflectors then retried
	// with a backoff grown to seconds; if it did, relisting is quicker.
	notReadyRelist = 15 * time.Second
	// restartJitter spreads the relists of a fleet of agents that all saw
	// the same outage.
	restartJitter = time.Second
)

// probeResult is what a readiness probe found.
type probeResult int

const (
	ready       probeResult = iota
	notReady                // an error status, or no answer in time
	unreachable             // refused or reset: nothing listens
)

// outage is what the probes saw since the API server was last ready.
type outage struct {
	failed      int         // failed probes in a row
	since       time.Time   // the first of them
	unreachable bool        // one of them found nothing listening
	last        probeResult // the latest probe's
}

// note records a probe's result at now.
func (o *outage) note(r probeResult, now time.Time) {
	if r == ready {
		*o = outage{}
		return
	}
	o.last = r
	if o.failed == 0 {
		o.since = now
	}
	o.failed++
	o.unreachable = o.unreachable || r == unreachable
}

// known reports whether the probes saw an outage: outageProbes failures
// in a row.
func (o *outage) known() bool { return o.failed >= outageProbes }

// needsRelist reports whether the informers must list anew now that the
// API server is ready again (see the comment at the top); watched tells
// whether every informer has had one watch open since before the outage.
func (o *outage) needsRelist(now time.Time, notReadyRelist time.Duration, watched func(since time.Time) bool) bool {
	return o.unreachable || now.Sub(o.since) >= notReadyRelist && !watched(o.since)
}

// recoverOutages probes the API server until ctx is done and restarts the
// informers (*cur) when it is ready again after an outage that needs it.
func (a *APIServer) recoverOutages(ctx context.Context, h Handler, cur **informerSet) {
	if a.probeEvery <= 0 {
		<-ctx.Done()
		return
	}
	log := klog.FromContext(ctx)
	var down outage
	for {
		wait := a.probeEvery
		if down.known() && down.last == unreachable {
			wait = min(wait, outageProbeEvery)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		res, err := a.probe(ctx)
		now := time.Now()
		relist := func() {
			log.Info("API server is back; listing everything anew", "down", now.Sub(down.since).Round(time.Millisecond),
				"ready", res == ready)
			if next := a.restart(ctx, h, *cur); next != nil {
				*cur = next
				down.note(ready, now)
			}
		}
		switch {
		case ctx.Err() != nil:
			return
		case down.known() && down.unreachable && res != unreachable:
			// It answers again after refusing connections: it restarted.
			// Its watch cache serves lists long before all its readiness
			// checks pass (with 10k Services on 2 cores: after 2.5 s, and
			// /readyz after 14 s), so the relist starts now.
			relist()
		case res != ready:
			down.note(res, now)
			if down.failed == outageProbes {
				log.Info("API server not ready or unreachable; keeping the last state until it is back", "err", err.Error())
			}
			if down.known() && down.unreachable {
				(*cur).hold()
			}
		case down.known() && down.needsRelist(now, a.notReadyRelist, (*cur).watchedSince):
			relist()
		case down.known():
			log.Info("API server is ready again; it kept running and the informers' watches go on",
				"notReady", now.Sub(down.since).Round(time.Millisecond))
			down.note(ready, now)
		default:
			down.note(ready, now)
		}
	}
}

// probe asks the API server whether it is ready (GET /readyz).
func (a *APIServer) probe(ctx context.Context) (probeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := a.client.Ready(ctx, probeServerTimeout)
	return probeResultOf(err), err
}

// probeResultOf classifies a probe's error. A refusal (no permission for
// /readyz, or no such path) still proves the server answers. No answer in
// time is not taken for a gone API server: one whose readiness check waits
// on a restarting etcd, or that serves every node's relist, is often that
// slow; only a refused or reset connection shows that nothing listens
// (a long spell of either still ends in a relist, see needsRelist).
func probeResultOf(err error) probeResult {
	var status apierrors.APIStatus
	var netErr net.Error
	switch {
	case err == nil, apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsNotFound(err):
		return ready
	case errors.As(err, &status), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return notReady
	default:
		return unreachable
	}
}

// restart starts a new informer set, waits for it to list, then makes it
// serve Snapshot in place of old and tells h that everything may have
// changed. Snapshot never sees a partial cache: until the swap it reads
// old's. It returns nil, and old keeps serving, when ctx is done or the
// API server goes away again before the new set is synced.
//
// Old's informers keep their caches and handlers meanwhile, but after the
// API server refused connections their reflectors are held (hold): the
// relist starts as soon as the API server answers, as early as theirs
// could, and a second stream of the whole cluster per node would only
// slow every node's relist. (Stopping them while the relist still waited
// for /readyz made the old reflectors' own early relists the faster way
// in, and the outage longer: docs/BENCHMARKS.md.) When a new set cannot
// even be made, old's reflectors are let go on their own.
func (a *APIServer) restart(ctx context.Context, h Handler, old *informerSet) *informerSet {
	log := klog.FromContext(ctx)
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(rand.N(restartJitter)):
	}
	started := time.Now()
	next, err := a.startSet(ctx, h, false)
	if err != nil {
		log.Error(err, "Restarting the informers; keeping the old ones")
		old.release()
		return nil
	}
	if !a.awaitSync(ctx, next) {
		go next.shutdown() // bounded; Run must not wait for it
		if ctx.Err() == nil {
			log.Info("API server unreachable again before the new informers listed; keeping the old ones")
		}
		return nil
	}
	a.listers.Store(&next.listers)
	a.view.serve(old, next)
	go old.shutdown()
	for _, k := range changedKinds(old, next) {
		h.Changed(k)
	}
	// Once per outage, and the figure an operator wants next to "listing
	// everything anew": how long the relist took.
	log.Info("Listed everything anew", "took", time.Since(started).Round(time.Millisecond))
	return next
}

// reuseViewed is the transform of a set that relists to replace the
// serving one: a Service or EndpointSlice the view holds at the same UID
// and resourceVersion becomes the view's object, others pass through
// lean. The caches, the view and synth.Builder then share one copy of
// each unchanged object: at 10k Services a relist kept a second copy of
// every object for as long as the new set lived (the view kept the old
// pointers, the new caches their own), and the copies being listed while
// the old ones were still held made the agent's peak. (The view, not the
// serving set's caches: their reflectors may have relisted on their own
// after the outage, and the view keeps its pointers through such
// relists.) Cached objects are never modified, so sharing them is safe.
func reuseViewed(view *apiView, lean cache.TransformFunc) cache.TransformFunc {
	return func(obj any) (any, error) {
		if prev, ok := view.sameVersion(obj); ok {
			return prev, nil
		}
		return lean(obj)
	}
}

// changedKinds are the kinds either set watches: all of them may differ.
func changedKinds(old, next *informerSet) []Kind {
	kinds := []Kind{Service, EndpointSlice}
	if next.listers.nodes != nil {
		kinds = append(kinds, Node)
	}
	if old.listers.cidrs != nil || next.listers.cidrs != nil {
		kinds = append(kinds, ServiceCIDR)
	}
	return kinds
}

// awaitSync waits for set to sync while probing the API server. There is
// no time limit: a large cluster may take long to list, and starting over
// would only list it again. The API server going away again ends it
// (false); one that answers "not ready" does not: every node's agent
// relisting at once is exactly when a loaded API server's readiness check
// is slow, and abandoning the lists would only start them over.
func (a *APIServer) awaitSync(ctx context.Context, set *informerSet) bool {
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	synced := make(chan bool, 1)
	go func() { synced <- set.waitForSync(waitCtx) }()
	tick := time.NewTicker(a.probeEvery)
	defer tick.Stop()
	failed := 0
	for {
		select {
		case ok := <-synced:
			return ok
		case <-tick.C:
		}
		if res, _ := a.probe(ctx); res == unreachable {
			failed++
		} else {
			failed = 0
		}
		if failed >= outageProbes {
			return false
		}
	}
}
