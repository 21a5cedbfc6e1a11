package agent

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/svcnat/svcnat/synth"
)

// Status is the body of GET /svcnat/status (`svcnat status` reads it).
// Times are RFC 3339, empty when they never happened; lists are never
// null.
type Status struct {
	Version       string          `json:"version"`
	Backend       string          `json:"backend"`
	NodeName      string          `json:"nodeName"`
	LastSync      string          `json:"lastSync"`
	LastError     string          `json:"lastError"`
	LastErrorTime string          `json:"lastErrorTime"`
	Healthy       bool            `json:"healthy"`
	Families      []FamilyStatus  `json:"families"`
	Warnings      []WarningStatus `json:"warnings"`
}

// FamilyStatus is what the last successful sync programmed for one IP
// family ("ipv4", "ipv6").
type FamilyStatus struct {
	Family       string `json:"family"`
	ServicePorts int    `json:"servicePorts"`
	Rules        int    `json:"rules"`
	Elements     int    `json:"elements"`
}

// WarningStatus is an input object the last sync skipped.
type WarningStatus struct {
	Object  string `json:"object"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// statusBoard keeps what /svcnat/status reports; syncs write it, HTTP
// handlers read it.
type statusBoard struct {
	mu       sync.Mutex
	lastSync time.Time
	lastErr  string
	errTime  time.Time
	families []FamilyStatus
	warnings []WarningStatus
}

func (s *statusBoard) synced(now time.Time, fams []FamilyStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSync, s.families = now, fams
}

func (s *statusBoard) failed(now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr, s.errTime = err.Error(), now
}

func (s *statusBoard) warned(ws []synth.Warning) {
	out := make([]WarningStatus, len(ws))
	for i, w := range ws {
		out[i] = WarningStatus{Object: w.Object, Reason: w.Reason, Message: w.Message}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnings = out
}

// Status returns the agent's current status.
func (a *Agent) Status() Status {
	s := &a.status
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Version:       a.cfg.Version,
		Backend:       a.be.Name(),
		NodeName:      a.cfg.Synth.NodeName,
		LastSync:      rfc3339(s.lastSync),
		LastError:     s.lastErr,
		LastErrorTime: rfc3339(s.errTime),
		Healthy:       a.health.Healthy(),
		Families:      append([]FamilyStatus{}, s.families...),
		Warnings:      append([]WarningStatus{}, s.warnings...),
	}
	return st
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *Agent) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A failed write only means the client left.
	_ = json.NewEncoder(w).Encode(a.Status())
}
