package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestNamesAndPrivateRegistries(t *testing.T) {
	a, b := New(), New() // a global registry would panic on the second
	a.SyncFailures.Inc()
	a.Warnings.WithLabelValues("BadPort").Set(2)
	a.NoLocalEndpoints.WithLabelValues("external").Set(1)
	a.LastSync.Set(1.7e9)
	text := scrape(t, a)
	for _, want := range []string{
		"svcnat_sync_proxy_rules_duration_seconds_bucket{le=\"0.001\"} 0",
		"svcnat_sync_full_proxy_rules_duration_seconds_count 0",
		"svcnat_sync_partial_proxy_rules_duration_seconds_count 0",
		"svcnat_network_programming_duration_seconds_bucket{le=\"300\"} 0",
		"svcnat_sync_proxy_rules_last_timestamp_seconds 1.7e+09",
		"svcnat_sync_proxy_rules_last_queued_timestamp_seconds 0",
		"svcnat_sync_proxy_rules_service_changes_pending 0",
		"svcnat_sync_proxy_rules_endpoint_changes_total 0",
		"svcnat_sync_proxy_rules_failures_total 1",
		"svcnat_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"external\"} 1",
		"svcnat_warnings{reason=\"BadPort\"} 2",
		"svcnat_programmed_rules 0",
		"go_goroutines",
	} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(scrape(t, b), "svcnat_sync_proxy_rules_failures_total 1") {
		t.Error("registries are shared")
	}
}
