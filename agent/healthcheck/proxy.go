package healthcheck

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ProxyHealth tracks whether queued work gets applied in time. It is safe
// for concurrent use.
//
// The rule is kube-proxy's (pkg/proxy/healthcheck/proxy_health.go): the
// proxy is unhealthy while some work has been queued for the health
// timeout or longer without a successful sync. svcnat queues more work
// than kube-proxy, so that the status is honest: the initial state (queued
// when the agent starts, so an agent that never syncs turns unhealthy one
// timeout after it started) and every periodic sync (queued when it runs,
// so failing applies turn it unhealthy even when nothing changes).
type ProxyHealth struct {
	clock   clock.PassiveClock
	timeout time.Duration
	// OnProbe, when set before serving, is told the status code of every
	// /healthz and /livez answer (kubeproxy_proxy_healthz_total, _livez_total).
	OnProbe func(path string, code int)

	mu           sync.Mutex
	lastUpdated  time.Time
	families     []string  // the IP families the last successful sync programmed
	pending      time.Time // oldest work queued and not yet taken by a sync
	inFlight     time.Time // oldest work taken by the running sync
	nodeEligible *bool     // nil until the first sync read the Node
}

// NewProxyHealth returns a tracker that turns unhealthy when queued work
// is older than timeout.
func NewProxyHealth(clk clock.PassiveClock, timeout time.Duration) *ProxyHealth {
	return &ProxyHealth{clock: clk, timeout: timeout}
}

// Queued records that work is waiting to be applied; the age of the oldest
// such work is what counts.
func (h *ProxyHealth) Queued() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending.IsZero() {
		h.pending = h.clock.Now()
	}
}

// SyncStarted records that a sync took every piece of work queued so far.
func (h *ProxyHealth) SyncStarted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight = earliest(h.inFlight, h.pending)
	h.pending = time.Time{}
}

// SyncSucceeded records that the work taken by the sync is applied, for
// the IP families given ("IPv4", "IPv6").
func (h *ProxyHealth) SyncSucceeded(families ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight = time.Time{}
	h.lastUpdated = h.clock.Now()
	h.families = slices.Clone(families)
}

// SyncFailed puts the work taken by the sync back in the queue, with its
// original age.
func (h *ProxyHealth) SyncFailed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = earliest(h.pending, h.inFlight)
	h.inFlight = time.Time{}
}

// SetNodeEligible records whether this node should receive load-balancer
// traffic (false while the Node is being deleted). Until it is first
// called, the node is not eligible: nothing is programmed yet.
func (h *ProxyHealth) SetNodeEligible(ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nodeEligible = &ok
}

// Status is the JSON body of /healthz and /livez, field for field
// kube-proxy's.
type Status struct {
	// LastUpdated is the time of the last successful sync, or the current
	// time when healthy (kube-proxy's compatibility rule: it used to be the
	// time of the last sync loop run).
	LastUpdated time.Time `json:"lastUpdated"`
	CurrentTime time.Time `json:"currentTime"`
	// NodeEligible is only in /healthz answers.
	NodeEligible *bool `json:"nodeEligible,omitempty"`
	Healthy      bool  `json:"healthy"`
	// Families is the status per IP family ("IPv4", "IPv6") programmed by
	// the last successful sync.
	Families map[string]FamilyStatus `json:"status,omitempty"`
}

// FamilyStatus is the status of one IP family. svcnat programs every family
// in one sync, so all share the proxy's status.
type FamilyStatus struct {
	LastUpdated time.Time `json:"lastUpdated"`
	Healthy     bool      `json:"healthy"`
}

// Status returns the current state, as /livez reports it (without
// NodeEligible).
func (h *ProxyHealth) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	oldest := earliest(h.pending, h.inFlight)
	st := Status{
		LastUpdated: h.lastUpdated,
		CurrentTime: now,
		Healthy:     oldest.IsZero() || now.Sub(oldest) < h.timeout,
	}
	for _, f := range h.families {
		if st.Families == nil {
			st.Families = map[string]FamilyStatus{}
		}
		st.Families[f] = FamilyStatus{LastUpdated: h.lastUpdated, Healthy: st.Healthy}
	}
	return st
}

// Healthy reports whether queued work is applied in time.
func (h *ProxyHealth) Healthy() bool { return h.Status().Healthy }

// NodeEligible reports whether the last sync found this node eligible for
// load-balancer traffic (false before the first sync).
func (h *ProxyHealth) NodeEligible() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nodeEligible != nil && *h.nodeEligible
}

// Handler serves /healthz (also 503 while the node is not eligible) and
// /livez.
func (h *ProxyHealth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", h.serveHealthz)
	mux.HandleFunc("/livez", h.serveLivez)
	return mux
}

func (h *ProxyHealth) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	st := h.Status()
	eligible := h.NodeEligible()
	st.NodeEligible = &eligible
	h.answer(w, "/healthz", st.Healthy && eligible, st)
}

func (h *ProxyHealth) serveLivez(w http.ResponseWriter, _ *http.Request) {
	st := h.Status()
	h.answer(w, "/livez", st.Healthy, st)
}

func (h *ProxyHealth) answer(w http.ResponseWriter, path string, ok bool, st Status) {
	code := http.StatusServiceUnavailable
	if ok {
		code = http.StatusOK
		st.LastUpdated = st.CurrentTime
	}
	if h.OnProbe != nil {
		h.OnProbe(path, code)
	}
	writeJSON(w, code, st)
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
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
