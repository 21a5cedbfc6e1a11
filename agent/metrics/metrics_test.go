package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// scrape GETs /metrics from m's handler and parses the text format.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// touch gives every labelled metric one series, as a sync does.
func touch(m *Metrics) {
	for _, f := range []string{"IPv4", "IPv6"} {
		m.SyncProxyRulesLatency.WithLabelValues(f).Observe(0.01)
		m.SyncFullProxyRulesLatency.WithLabelValues(f).Observe(0.01)
		m.SyncPartialProxyRulesLatency.WithLabelValues(f).Observe(0.01)
		m.SyncProxyRulesLastTimestamp.WithLabelValues(f).Set(1.7e9)
		m.SyncProxyRulesLastQueuedTimestamp.WithLabelValues(f).Set(1.7e9)
		m.NetworkProgrammingLatency.WithLabelValues(f).Observe(0.3)
		m.NoLocalEndpointsTotal.WithLabelValues(PolicyInternal, f).Set(0)
		m.ConntrackReconcileLatency.WithLabelValues(f).Observe(0.001)
		m.IPTablesRulesTotal.WithLabelValues("nat", f).Set(10)
		m.IPTablesRulesLastSync.WithLabelValues("nat", f).Set(10)
		m.InitFamily(f)
		m.SyncFailed(f, true)
	}
	m.ProxyHealthzTotal.WithLabelValues("200").Inc()
	m.ProxyLivezTotal.WithLabelValues("503").Inc()
	m.Warnings.WithLabelValues("BadPort").Set(1)
	m.WarningsTotal.WithLabelValues("BadPort").Inc()
}

// shape is a metric family's name, type and label names (le and quantile
// aside), one line of the golden files.
func shape(mf *dto.MetricFamily) string {
	labels := map[string]bool{}
	for _, mt := range mf.GetMetric() {
		for _, l := range mt.GetLabel() {
			labels[l.GetName()] = true
		}
	}
	names := make([]string, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	slices.Sort(names)
	return fmt.Sprintf("%s %s {%s}", mf.GetName(), strings.ToLower(mf.GetType().String()), strings.Join(names, ","))
}

// TestGoldenNames compares what /metrics serves in each mode with
// testdata/metrics-MODE.golden. The Go runtime, process and client-go
// families are checked by TestProcessWideMetrics instead: they depend on
// the Go version and on requests made.
func TestGoldenNames(t *testing.T) {
	for _, mode := range []string{ModeNFTables, ModeIPTables} {
		t.Run(mode, func(t *testing.T) {
			m := New(Options{Mode: mode, Version: "v1.2.3", Revision: "abc"})
			touch(m)
			var lines []string
			for name, mf := range scrape(t, m) {
				if strings.HasPrefix(name, "kubeproxy_") || strings.HasPrefix(name, "svcnat_") {
					lines = append(lines, shape(mf))
				}
			}
			slices.Sort(lines)
			got := []byte(strings.Join(lines, "\n") + "\n")
			golden := filepath.Join("testdata", "metrics-"+mode+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("/metrics differs from %s (go test -run Golden -update rewrites it):\ngot:\n%s", golden, got)
			}
		})
	}
}

// upstreamMetric is kube-proxy v1.37.2's definition of a metric
// (pkg/proxy/metrics/metrics.go) and the modes in which svcnat serves it.
type upstreamMetric struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Labels  []string `json:"labels"`
	Buckets string   `json:"buckets"`
	Help    string   `json:"help"`
	Modes   []string `json:"modes"`
}

// TestKubeProxyMetricsIdentical checks that every kube-proxy metric svcnat
// claims to serve in a mode is served there exactly as upstream defines
// it: name, "[ALPHA] "-prefixed help, type, label names in order of
// definition aside, and buckets.
func TestKubeProxyMetricsIdentical(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "kubeproxy-v1.37.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var upstream []upstreamMetric
	if err := json.Unmarshal(data, &upstream); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ModeNFTables, ModeIPTables} {
		m := New(Options{Mode: mode})
		touch(m)
		got := scrape(t, m)
		for _, u := range upstream {
			mf, served := got[u.Name]
			if served != slices.Contains(u.Modes, mode) {
				t.Errorf("%s mode: %s served %v, the reference says %v", mode, u.Name, served, !served)
				continue
			}
			if served {
				checkSame(t, mode, u, mf)
			}
		}
	}
}

func checkSame(t *testing.T, mode string, u upstreamMetric, mf *dto.MetricFamily) {
	t.Helper()
	if help := "[ALPHA] " + u.Help; mf.GetHelp() != help {
		t.Errorf("%s mode: %s help %q, upstream %q", mode, u.Name, mf.GetHelp(), help)
	}
	if typ := strings.ToLower(mf.GetType().String()); typ != u.Type {
		t.Errorf("%s mode: %s type %s, upstream %s", mode, u.Name, typ, u.Type)
	}
	labels := slices.Clone(u.Labels)
	slices.Sort(labels)
	if want := fmt.Sprintf("%s %s {%s}", u.Name, u.Type, strings.Join(labels, ",")); shape(mf) != want {
		t.Errorf("%s mode: %q, upstream %q", mode, shape(mf), want)
	}
	if u.Type == "histogram" {
		var got []float64
		for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // implicit in every histogram
				got = append(got, b.GetUpperBound())
			}
		}
		if want := buckets(t, u.Buckets); !slices.Equal(got, want) {
			t.Errorf("%s mode: %s buckets %v, upstream %v", mode, u.Name, got, want)
		}
	}
}

// buckets expands the reference's terms joined by "+": a number,
// "exp(start,factor,count)" or "lin(start,width,count)".
func buckets(t *testing.T, spec string) []float64 {
	t.Helper()
	var out []float64
	for _, term := range strings.Split(spec, "+") {
		kind, args, found := strings.Cut(strings.TrimSuffix(term, ")"), "(")
		if !found {
			f, err := strconv.ParseFloat(term, 64)
			if err != nil {
				t.Fatalf("bad buckets %q", spec)
			}
			out = append(out, f)
			continue
		}
		var v [3]float64
		for i, a := range strings.Split(args, ",") {
			f, err := strconv.ParseFloat(a, 64)
			if err != nil || i > 2 {
				t.Fatalf("bad buckets %q", spec)
			}
			v[i] = f
		}
		x := v[0]
		for range int(v[2]) {
			out = append(out, x)
			if kind == "exp" {
				x *= v[1]
			} else {
				x += v[1]
			}
		}
	}
	return out
}

// TestProcessWideMetrics: the Go runtime, process and client-go's
// rest_client_* families are served beside the agent's.
func TestProcessWideMetrics(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"kind":"ServiceList","apiVersion":"v1","items":[]}`)
	}))
	defer api.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, New(Options{Mode: ModeNFTables, Version: "v1.2.3", Revision: "abc"}))
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "rest_client_requests_total",
		"rest_client_request_duration_seconds", "svcnat_build_info"} {
		if got[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	info := got["svcnat_build_info"].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range info.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "v1.2.3" || labels["revision"] != "abc" || !strings.HasPrefix(labels["goversion"], "go") || info.GetGauge().GetValue() != 1 {
		t.Errorf("svcnat_build_info = %v %v", labels, info.GetGauge().GetValue())
	}
}

// TestPrivateRegistries: agents in one process do not share values.
func TestPrivateRegistries(t *testing.T) {
	a, b := New(Options{Mode: ModeNFTables}), New(Options{Mode: ModeNFTables})
	a.SyncFailed("IPv4", false)
	if got := scrape(t, b)["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"]; got != nil {
		t.Errorf("b sees a's failure: %v", got)
	}
	if got := scrape(t, a)["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"]; got == nil || got.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("a's failure: %v", got)
	}
}
