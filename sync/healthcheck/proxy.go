package healthcheck

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ProxyHealth tracks whether queued changes get applied in time. It is safe
// for concurrent use.
type ProxyHealth struct {
	clock   clock.PassiveClock
	timeout time.Duration

	mu           sync.Mutex
	lastUpdated  time.Time
	pending      time.Time // oldest change queued and not yet taken by a sync
	inFlight     time.Time // oldest change taken by the running sync
	nodeEligible bool
}

// NewProxyHealth returns a tracker that turns unhealthy when a queued change
// is older than timeout.
func NewProxyHealth(clk clock.PassiveClock, timeout time.Duration) *ProxyHealth {
	return &ProxyHealth{clock: clk, timeout: timeout, nodeEligible: true}
}

// Queued records that a change is waiting to be applied.
func (h *ProxyHealth) Queued() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending.IsZero() {
		h.pending = h.clock.Now()
	}
}

// SyncStarted records that a sync took every change queued so far.
func (h *ProxyHealth) SyncStarted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight = earliest(h.inFlight, h.pending)
	h.pending = time.Time{}
}

// SyncSucceeded records that the changes taken by the sync are applied.
func (h *ProxyHealth) SyncSucceeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight = time.Time{}
	h.lastUpdated = h.clock.Now()
}

// SyncFailed puts the changes taken by the sync back in the queue, with
// their original age.
func (h *ProxyHealth) SyncFailed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = earliest(h.pending, h.inFlight)
	h.inFlight = time.Time{}
}

// SetNodeEligible records whether this node should receive load-balancer
// traffic (false while the Node is being deleted).
func (h *ProxyHealth) SetNodeEligible(ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nodeEligible = ok
}

// Status is the JSON body of /healthz and /livez.
type Status struct {
	LastUpdated time.Time `json:"lastUpdated"`
	CurrentTime time.Time `json:"currentTime"`
	NodeHealthy bool      `json:"nodeHealthy"`
	// Healthy is whether queued changes are applied in time (not part of
	// kube-proxy's body; the status code carries it there).
	Healthy bool `json:"healthy"`
}

// Status returns the current state.
func (h *ProxyHealth) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	oldest := earliest(h.pending, h.inFlight)
	return Status{
		LastUpdated: h.lastUpdated,
		CurrentTime: now,
		NodeHealthy: h.nodeEligible,
		Healthy:     oldest.IsZero() || now.Sub(oldest) < h.timeout,
	}
}

// Healthy reports whether queued changes are applied in time.
func (h *ProxyHealth) Healthy() bool { return h.Status().Healthy }

// Handler serves /healthz (also fails while the node is being deleted) and
// /livez.
func (h *ProxyHealth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		st := h.Status()
		writeJSON(w, st.Healthy && st.NodeHealthy, st)
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		st := h.Status()
		writeJSON(w, st.Healthy, st)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, ok bool, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if ok {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	// The status is already sent; a failed write only means the client left.
	_ = json.NewEncoder(w).Encode(body)
}

// earliest returns the earlier of two times, ignoring zero times.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
