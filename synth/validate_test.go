package synth

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestPortIDsOfSeparatorNames: Service "b:c" without a port name and
// Service b with port c print the same (a/b:c/tcp); their IDs, which name
// their chains, must still differ, while valid names keep their IDs.
func TestPortIDsOfSeparatorNames(t *testing.T) {
	unnamed := ServicePortName{Namespace: "a", Name: "b:c", Protocol: TCP}
	named := ServicePortName{Namespace: "a", Name: "b", Port: "c", Protocol: TCP}
	if unnamed.String() != named.String() {
		t.Fatalf("the names print differently (%s, %s): the test no longer shows the ambiguity", unnamed, named)
	}
	if portID(unnamed, IPv4) == portID(named, IPv4) {
		t.Errorf("a/\"b:c\" and a/b port c share the ID %s", portID(named, IPv4))
	}
	for _, pair := range [][2]ServicePortName{
		{{Namespace: "a/b", Name: "c", Protocol: TCP}, {Namespace: "a", Name: "b/c", Protocol: TCP}},
		{{Namespace: "a", Name: "b", Port: "c/tcp", Protocol: UDP}, {Namespace: "a", Name: "b", Port: "c", Protocol: TCP}},
	} {
		if portID(pair[0], IPv4) == portID(pair[1], IPv4) {
			t.Errorf("%q and %q share an ID", pair[0], pair[1])
		}
	}
	// The readable form is kept for valid names: chain names do not change.
	valid := ServicePortName{Namespace: "default", Name: "web", Port: "http", Protocol: TCP}
	if got, want := portID(valid, IPv4), shortHash("ipv4|default/web:http/tcp"); got != want {
		t.Errorf("ID of a valid name changed: %s, want %s", got, want)
	}
}

func svcWith(mod func(*corev1.Service)) *corev1.Service {
	s := nodePortService("default", "web", time.Time{}, "10.96.0.10", 30080)
	mod(s)
	return s
}

func reasons(ws []Warning) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Reason)
	}
	return strings.Join(out, ",")
}

func TestSpecialExternalIPsSkipped(t *testing.T) {
	svc := svcWith(func(s *corev1.Service) {
		s.Spec.ExternalIPs = []string{"0.0.0.0", "224.0.0.1", "169.254.169.254", "127.0.0.1", "::", "ff02::1", "fe80::1", "203.0.113.7"}
	})
	res := Build(Input{Services: []*corev1.Service{svc}}, Config{})
	if got := res.IPv4.Services[0].ExternalIPs; len(got) != 1 || got[0] != netip.MustParseAddr("203.0.113.7") {
		t.Errorf("external IPs %v, want only 203.0.113.7", got)
	}
	if got := strings.Count(reasons(res.Warnings), "InvalidExternalIP"); got != 7 {
		t.Errorf("%d InvalidExternalIP warnings, want 7: %v", got, res.Warnings)
	}
}

func TestAffinityTimeoutCapped(t *testing.T) {
	svc := svcWith(func(s *corev1.Service) {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](5_000_000)}}
	})
	res := Build(Input{Services: []*corev1.Service{svc}}, Config{})
	if got := res.IPv4.Services[0].AffinitySeconds; got != MaxAffinitySeconds {
		t.Errorf("affinity %d s, want the maximum %d", got, MaxAffinitySeconds)
	}
	if reasons(res.Warnings) != "InvalidAffinityTimeout" {
		t.Errorf("warnings %v", res.Warnings)
	}
}

func TestNodePortRange(t *testing.T) {
	svc := nodePortService("default", "web", time.Time{}, "10.96.0.10", 8080)
	for _, tc := range []struct {
		r    PortRange
		warn string
	}{
		{PortRange{}, ""},
		{DefaultNodePortRange, "NodePortOutOfRange"},
		{PortRange{8000, 9000}, ""},
	} {
		res := Build(Input{Services: []*corev1.Service{svc}}, Config{NodePortRange: tc.r})
		if got := reasons(res.Warnings); got != tc.warn {
			t.Errorf("range %v: warnings %q, want %q", tc.r, got, tc.warn)
		}
		if res.IPv4.Services[0].NodePort != 8080 {
			t.Errorf("range %v: the nodePort is not programmed as written", tc.r)
		}
	}
	for in, want := range map[string]PortRange{"30000-32767": DefaultNodePortRange, "8080": {8080, 8080}, " 1 - 2 ": {1, 2}} {
		if got, err := ParsePortRange(in); err != nil || got != want {
			t.Errorf("ParsePortRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0-10", "10-5", "1-70000", "a-b"} {
		if _, err := ParsePortRange(bad); err == nil {
			t.Errorf("ParsePortRange(%q) accepted", bad)
		}
	}
}

func TestWarningEscapesControlCharacters(t *testing.T) {
	w := Warning{Object: "Service default/x\nService default/y: Forged: \x1b[31m", Reason: "InvalidPort", Message: "é ok"}
	s := w.String()
	if strings.ContainsAny(s, "\n\x1b") {
		t.Errorf("warning keeps control characters: %q", s)
	}
	if !strings.Contains(s, `x\nService`) || !strings.Contains(s, `\x1b[31m`) || !strings.Contains(s, "é ok") {
		t.Errorf("warning %q: want escapes, and printable text kept", s)
	}
}
