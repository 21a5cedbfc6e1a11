package healthcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/svcnat/svcnat/synth"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func query(t *testing.T, port uint16) (int, serviceStatus, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET port %d: %v", port, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var st serviceStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return resp.StatusCode, st, resp.Header.Get("X-Load-Balancing-Endpoint-Weight")
}

func refused(port uint16) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		conn.Close()
	}
	return err != nil
}

func TestServiceHealth(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	ph := NewProxyHealth(clk, time.Minute)
	sh := NewServiceHealth("127.0.0.1", ph, logr.Discard())
	t.Cleanup(sh.Close)
	web, db := freePort(t), freePort(t)

	if err := sh.Sync(map[uint16]ServiceInfo{
		web: {Namespace: "prod", Name: "web", LocalEndpoints: 2},
		db:  {Namespace: "prod", Name: "db"},
	}); err != nil {
		t.Fatal(err)
	}
	code, st, weight := query(t, web)
	if code != 200 || st.Service.Namespace != "prod" || st.Service.Name != "web" || st.LocalEndpoints != 2 || !st.ServiceProxyHealthy || weight != "2" {
		t.Errorf("web: %d %+v weight %s", code, st, weight)
	}
	if code, st, _ := query(t, db); code != 503 || st.LocalEndpoints != 0 {
		t.Errorf("db without local endpoints: %d %+v", code, st)
	}

	// An unhealthy proxy makes every port fail, as in kube-proxy.
	ph.Queued()
	clk.Step(2 * time.Minute)
	if code, st, _ := query(t, web); code != 503 || st.ServiceProxyHealthy {
		t.Errorf("web with unhealthy proxy: %d %+v", code, st)
	}
	ph.SyncStarted()
	ph.SyncSucceeded()

	// db is gone and web lost its endpoints.
	if err := sh.Sync(map[uint16]ServiceInfo{web: {Namespace: "prod", Name: "web"}}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := query(t, web); code != 503 {
		t.Errorf("web without endpoints: %d", code)
	}
	if !refused(db) {
		t.Errorf("port %d of a removed service still accepts connections", db)
	}
	if diff := cmp.Diff([]uint16{web}, sh.Ports()); diff != "" {
		t.Errorf("Ports (-want +got):\n%s", diff)
	}
}

func TestServiceHealthPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := uint16(ln.Addr().(*net.TCPAddr).Port)
	sh := NewServiceHealth("127.0.0.1", nil, logr.Discard())
	t.Cleanup(sh.Close)
	ok := freePort(t)
	err = sh.Sync(map[uint16]ServiceInfo{busy: {Name: "a"}, ok: {Name: "b", LocalEndpoints: 1}})
	if err == nil {
		t.Error("no error for a port in use")
	}
	if code, _, _ := query(t, ok); code != 200 {
		t.Errorf("the other port: %d", code)
	}
	ln.Close()
	if err := sh.Sync(map[uint16]ServiceInfo{busy: {Name: "a", LocalEndpoints: 1}, ok: {Name: "b"}}); err != nil {
		t.Errorf("retry after the port was freed: %v", err)
	}
	if code, _, _ := query(t, busy); code != 200 {
		t.Errorf("retried port: %d", code)
	}
}

func TestFromRulesets(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	name := func(port string) synth.ServicePortName {
		return synth.ServicePortName{Namespace: "prod", Name: "web", Port: port, Protocol: synth.TCP}
	}
	v4 := &synth.Ruleset{Family: synth.IPv4, Services: []*synth.ServicePort{
		{Name: name("http"), HealthCheckNodePort: 31000, LocalEndpoints: []synth.Endpoint{
			{Addr: a("10.0.0.1"), Port: 80, Local: true},
			{Addr: a("10.0.0.2"), Port: 80, Local: true, Terminating: true},
		}},
		{Name: name("https"), HealthCheckNodePort: 31000, LocalEndpoints: []synth.Endpoint{
			{Addr: a("10.0.0.1"), Port: 443, Local: true},
			{Addr: a("10.0.0.3"), Port: 443, Local: true},
		}},
		{Name: synth.ServicePortName{Namespace: "prod", Name: "plain", Protocol: synth.TCP}},
	}}
	v6 := &synth.Ruleset{Family: synth.IPv6, Services: []*synth.ServicePort{
		{Name: name("http"), HealthCheckNodePort: 31000, LocalEndpoints: []synth.Endpoint{
			{Addr: a("fd00::1"), Port: 80, Local: true},
		}},
	}}
	got := FromRulesets([]*synth.Ruleset{v4, v6})
	want := map[uint16]ServiceInfo{31000: {Namespace: "prod", Name: "web", LocalEndpoints: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromRulesets (-want +got):\n%s", diff)
	}
}
