package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// agentStatusDoc is what the agent serves at /svcnat/status.
const agentStatusDoc = `{"version":"v0.4.0","backend":"nftables","nodeName":"n1",
 "lastSync":"2026-01-02T03:04:05Z","lastError":"apply nftables batch: no buffer space","lastErrorTime":"2026-01-02T03:00:00Z",
 "healthy":true,
 "families":[{"family":"ipv4","servicePorts":12,"rules":40,"elements":300},{"family":"ipv6","servicePorts":0,"rules":9,"elements":0}],
 "warnings":[{"object":"Service default/x","reason":"BadPort","message":"port 0 is not valid"}],
 "someFutureField":1}`

func fakeAgent(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestStatusFromAgent(t *testing.T) {
	addr := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != statusPath || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(agentStatusDoc))
	})
	code, out, errOut := run(t, "", "status", "--address", addr, "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: exit %d: %s", code, errOut)
	}
	// The address is the test server's: replace it to compare.
	checkGolden(t, "status-agent.json", strings.ReplaceAll(out, addr, "127.0.0.1:10249"))

	code, out, errOut = run(t, "", "status", "--address", "http://"+addr+"/")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"svcnat v0.4.0, backend nftables, node n1",
		"healthy:    yes",
		"last sync:  2026-01-02T03:04:05Z (",
		"last error: apply nftables batch: no buffer space (2026-01-02T03:00:00Z (",
		"ipv4: 12 service ports, 40 rules, 300 elements",
		"ipv6: 0 service ports, 9 rules, 0 elements",
		"warnings (1):\n  Service default/x: BadPort: port 0 is not valid",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status text lacks %q:\n%s", want, out)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	// A port nothing listens on: bind one, close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	notFound := fakeAgent(t, http.NotFound)
	garbage := fakeAgent(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("svcnat_up 1\n")) })
	slow := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing listens", []string{"--address", closed}, 1, "no svcnat agent answers at http://" + closed + "/svcnat/status (connection refused)"},
		{"not an agent", []string{"--address", notFound}, 1, "404 Not Found"},
		{"not a status document", []string{"--address", garbage}, 1, "not a svcnat status document"},
		{"too slow", []string{"--address", slow, "--timeout", "200ms"}, 1, "within the --timeout"},
		{"bad address", []string{"--address", "nonsense"}, 2, `--address "nonsense"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, out, errOut := run(t, "", append([]string{"status"}, tc.args...)...)
			if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one line with %q", code, out, errOut, tc.code, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestStatusURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:10249":        "http://127.0.0.1:10249/svcnat/status",
		"0.0.0.0:10249":          "http://127.0.0.1:10249/svcnat/status",
		":10249":                 "http://127.0.0.1:10249/svcnat/status",
		"[::]:10249":             "http://[::1]:10249/svcnat/status",
		"http://10.0.0.1:10249/": "http://10.0.0.1:10249/svcnat/status",
	} {
		if got, err := statusURL(in); err != nil || got != want {
			t.Errorf("statusURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
