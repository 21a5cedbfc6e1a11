package healthcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func get(t *testing.T, h http.Handler, path string) (int, Status) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("GET %s: body %q: %v", path, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return rec.Code, st
}

func expect(t *testing.T, h http.Handler, healthz, livez int) {
	t.Helper()
	if code, _ := get(t, h, "/healthz"); code != healthz {
		t.Errorf("/healthz = %d, want %d", code, healthz)
	}
	if code, _ := get(t, h, "/livez"); code != livez {
		t.Errorf("/livez = %d, want %d", code, livez)
	}
}

func TestProxyHealth(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	ph := NewProxyHealth(clk, time.Minute)
	h := ph.Handler()

	expect(t, h, 200, 200) // nothing queued yet

	ph.Queued()
	clk.Step(59 * time.Second)
	expect(t, h, 200, 200) // queued, not late yet
	clk.Step(time.Second)
	expect(t, h, 503, 503) // queued for the whole timeout

	ph.SyncStarted()
	ph.Queued() // a change arriving during the sync does not reset the age
	expect(t, h, 503, 503)
	ph.SyncFailed()
	expect(t, h, 503, 503)

	ph.SyncStarted()
	ph.SyncSucceeded()
	_, st := get(t, h, "/healthz")
	if !st.LastUpdated.Equal(clk.Now()) || !st.CurrentTime.Equal(clk.Now()) || !st.NodeHealthy {
		t.Errorf("status after sync = %+v", st)
	}
	expect(t, h, 200, 200)

	ph.SetNodeEligible(false)
	expect(t, h, 503, 200) // a node being deleted drains, but is alive
}

// A change queued while a sync runs is still pending after it succeeds.
func TestProxyHealthQueuedDuringSync(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
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
