package healthcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const timeout = time.Minute

// answer is one GET of /healthz or /livez.
type answer struct {
	code int
	raw  map[string]json.RawMessage
	st   Status
}

func get(t *testing.T, h http.Handler, path string) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var a answer
	a.code = rec.Code
	if err := json.Unmarshal(rec.Body.Bytes(), &a.raw); err != nil {
		t.Fatalf("GET %s: body %q: %v", path, rec.Body.String(), err)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.st); err != nil {
		t.Fatalf("GET %s: body %q: %v", path, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return a
}

// step is something happening to the agent, then time passing.
type step struct {
	do    func(h *ProxyHealth)
	after time.Duration
}

var (
	start    = step{do: (*ProxyHealth).Queued} // Agent.Run queues the initial state
	goodSync = step{do: func(h *ProxyHealth) { h.Queued(); h.SyncStarted(); h.SetNodeEligible(true); h.SyncSucceeded("IPv4") }}
	badSync  = step{do: func(h *ProxyHealth) { h.Queued(); h.SyncStarted(); h.SyncFailed() }}
	change   = step{do: (*ProxyHealth).Queued}
	deleting = step{do: func(h *ProxyHealth) { h.Queued(); h.SyncStarted(); h.SetNodeEligible(false); h.SyncSucceeded("IPv4") }}
	wait     = func(d time.Duration) step { return step{do: func(*ProxyHealth) {}, after: d} }
	repeat   = func(n int, s step, every time.Duration) []step {
		var out []step
		for range n {
			out = append(out, step{do: s.do, after: every})
		}
		return out
	}
)

func steps(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			out = append(out, p)
		case []step:
			out = append(out, p...)
		}
	}
	return out
}

func TestProxyHealthStates(t *testing.T) {
	for _, tc := range []struct {
		name          string
		steps         []step
		healthz       int
		livez         int
		lastUpdated   time.Duration // since t0, in the 503 answers; -1: zero time
		nodeEligible  bool          // in /healthz
		withFamilies  bool          // the "status" map is present
		familyHealthy bool
	}{
		{name: "just started", steps: steps(start, wait(59*time.Second)),
			healthz: 503, livez: 200, lastUpdated: -1},
		{name: "never synced within the timeout (API server unreachable)", steps: steps(start, wait(timeout)),
			healthz: 503, livez: 503, lastUpdated: -1},
		{name: "first sync", steps: steps(start, wait(time.Second), goodSync),
			healthz: 200, livez: 200, nodeEligible: true, withFamilies: true, familyHealthy: true},
		{name: "change pending, not late", steps: steps(start, goodSync, change, wait(59*time.Second)),
			healthz: 200, livez: 200, nodeEligible: true, withFamilies: true, familyHealthy: true},
		{name: "change pending for the timeout", steps: steps(start, goodSync, change, wait(timeout)),
			healthz: 503, livez: 503, lastUpdated: 0, nodeEligible: true, withFamilies: true},
		{name: "periodic syncs failing after one good sync", steps: steps(start, goodSync, wait(30*time.Second), repeat(64, badSync, 10*time.Second)),
			healthz: 503, livez: 503, lastUpdated: 0, nodeEligible: true, withFamilies: true},
		{name: "failing, then a good sync", steps: steps(start, goodSync, repeat(10, badSync, 10*time.Second), goodSync),
			healthz: 200, livez: 200, nodeEligible: true, withFamilies: true, familyHealthy: true},
		{name: "failing for less than the timeout", steps: steps(start, goodSync, repeat(5, badSync, 10*time.Second)),
			healthz: 200, livez: 200, nodeEligible: true, withFamilies: true, familyHealthy: true},
		{name: "node being deleted", steps: steps(start, deleting),
			healthz: 503, livez: 200, lastUpdated: 0, nodeEligible: false, withFamilies: true, familyHealthy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			ph := NewProxyHealth(clk, timeout)
			probes := map[string]int{}
			ph.OnProbe = func(path string, code int) { probes[path+" "+http.StatusText(code)]++ }
			for _, s := range tc.steps {
				s.do(ph)
				clk.Step(s.after)
			}
			h := ph.Handler()
			hz, lz := get(t, h, "/healthz"), get(t, h, "/livez")
			if hz.code != tc.healthz || lz.code != tc.livez {
				t.Errorf("/healthz, /livez = %d, %d; want %d, %d", hz.code, lz.code, tc.healthz, tc.livez)
			}
			for _, a := range []answer{hz, lz} {
				checkBody(t, a, clk.Now(), tc.lastUpdated, tc.withFamilies, tc.familyHealthy)
			}
			if hz.st.NodeEligible == nil || *hz.st.NodeEligible != tc.nodeEligible {
				t.Errorf("/healthz nodeEligible = %s, want %v", hz.raw["nodeEligible"], tc.nodeEligible)
			}
			if _, ok := lz.raw["nodeEligible"]; ok {
				t.Errorf("/livez has nodeEligible")
			}
			want := map[string]int{"/healthz " + http.StatusText(tc.healthz): 1, "/livez " + http.StatusText(tc.livez): 1}
			if diff := cmp.Diff(want, probes); diff != "" {
				t.Errorf("probes counted (-want +got):\n%s", diff)
			}
		})
	}
}

// checkBody checks kube-proxy's body: lastUpdated is the current time in
// 200 answers and the last successful sync (or zero) in 503 answers.
func checkBody(t *testing.T, a answer, now time.Time, lastUpdated time.Duration, withFamilies, familyHealthy bool) {
	t.Helper()
	for _, field := range []string{"lastUpdated", "currentTime", "healthy"} {
		if _, ok := a.raw[field]; !ok {
			t.Errorf("body lacks %q: %v", field, a.raw)
		}
	}
	want := now
	if a.code != 200 {
		want = time.Time{}
		if lastUpdated >= 0 {
			want = t0.Add(lastUpdated)
		}
	}
	if !a.st.LastUpdated.Equal(want) {
		t.Errorf("%d answer: lastUpdated %v, want %v", a.code, a.st.LastUpdated, want)
	}
	if a.st.Healthy != (a.code == 200) && a.raw["nodeEligible"] == nil {
		t.Errorf("/livez: healthy %v in a %d answer", a.st.Healthy, a.code)
	}
	if !a.st.CurrentTime.Equal(now) {
		t.Errorf("currentTime %v, want %v", a.st.CurrentTime, now)
	}
	fs, ok := a.st.Families["IPv4"]
	if ok != withFamilies || (ok && fs.Healthy != familyHealthy) {
		t.Errorf("status = %s, want IPv4 present %v, healthy %v", a.raw["status"], withFamilies, familyHealthy)
	}
}

// A change queued while a sync runs is still pending after it succeeds.
func TestProxyHealthQueuedDuringSync(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	ph := NewProxyHealth(clk, time.Minute)
	ph.Queued()
	ph.SyncStarted()
	ph.Queued()
	ph.SyncSucceeded()
	clk.Step(2 * time.Minute)
	if ph.Healthy() {
		t.Error("healthy although a change queued during the sync was never applied")
	}
}
