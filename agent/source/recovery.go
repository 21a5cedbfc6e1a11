package source

import (
	"context"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
)

// Outage recovery. A restarted API server's watch cache has no history,
// so every watch resumed after an outage fails ("too old resource
// version") and client-go's reflectors relist only after their
// exponential backoff, which an outage of tens of seconds has grown to up
// to 30 s. Run therefore probes the API server's readiness, and once it is
// ready again after an outage it lists everything anew with a fresh set of
// informers, serving the old caches until the new ones are complete.
const (
	// probeEvery and probeTimeout: a probe every 2 s costs each node's
	// agent half a cheap request per second, and bounds the time from the
	// API server being ready to the relist to probeEvery + restartJitter.
	probeEvery   = 2 * time.Second
	probeTimeout = 2 * time.Second
	// outageProbes failed probes in a row are an outage. A single slow
	// or failed probe is not: a needless relist of the whole cluster from
	// every node costs the API server more than the reflectors' own short
	// backoff after a blip.
	outageProbes = 2
	// restartJitter spreads the relists of a fleet of agents that all saw
	// the same outage.
	restartJitter = time.Second
)

// recoverOutages probes the API server until ctx is done and restarts the
// informers (*cur) when it is ready again after an outage.
func (a *APIServer) recoverOutages(ctx context.Context, h Handler, cur **informerSet) {
	if a.probeEvery <= 0 {
		<-ctx.Done()
		return
	}
	log := klog.FromContext(ctx)
	tick := time.NewTicker(a.probeEvery)
	defer tick.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := a.probe(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failed++
			if failed == outageProbes {
				log.Info("API server unreachable; keeping the last state until it is back", "err", err.Error())
			}
		case failed >= outageProbes:
			log.Info("API server is back; listing everything anew")
			if next := a.restart(ctx, h, *cur); next != nil {
				*cur, failed = next, 0
			}
		default:
			failed = 0
		}
	}
}

// probe asks the API server whether it is ready (GET /readyz). A refusal
// (no permission for /readyz, or no such path) still proves the server
// answers. Clients without a REST client (fakes) are always ready.
func (a *APIServer) probe(ctx context.Context) error {
	rc := a.client.Discovery().RESTClient()
	if rc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	// No retries: a refused connection is the answer.
	err := rc.Get().AbsPath("/readyz").MaxRetries(0).Do(ctx).Error()
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// restart starts a new informer set, waits for it to list, then makes it
// serve Snapshot in place of old and tells h that everything may have
// changed. Snapshot never sees a partial cache: until the swap it reads
// old's. It returns nil, and old keeps serving, when ctx is done or the
// API server goes away again before the new set is synced.
func (a *APIServer) restart(ctx context.Context, h Handler, old *informerSet) *informerSet {
	log := klog.FromContext(ctx)
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(rand.N(restartJitter)):
	}
	next, err := a.startSet(ctx, h, false)
	if err != nil {
		log.Error(err, "Restarting the informers; keeping the old ones")
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
	log.V(1).Info("Informers restarted and synced")
	return next
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
// would only list it again. An outage during the wait ends it (false).
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
		if a.probe(ctx) != nil {
			failed++
		} else {
			failed = 0
		}
		if failed >= outageProbes {
			return false
		}
	}
}
