package kubeproxy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConntrackSysctls(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	dur := func(d time.Duration) *time.Duration { return &d }
	defaults, err := complete("--proxy-mode", "nftables")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ct       Conntrack
		cpus     int
		want     []ConntrackSysctl
		hashsize int
	}{
		{"kube-proxy defaults, 2 CPUs: the minimum wins", defaults.Conntrack, 2, []ConntrackSysctl{
			{"nf_conntrack_max", 131072, true},
			{"nf_conntrack_tcp_timeout_established", 86400, false},
			{"nf_conntrack_tcp_timeout_close_wait", 3600, false},
		}, 32768},
		{"8 CPUs: per core wins", Conntrack{MaxPerCore: i32(32768), Min: i32(131072)}, 8, []ConntrackSysctl{{"nf_conntrack_max", 262144, true}}, 65536},
		{"capped at 1M", Conntrack{MaxPerCore: i32(32768), Min: i32(0)}, 64, []ConntrackSysctl{{"nf_conntrack_max", 1 << 20, true}}, 1 << 18},
		{"0 per core leaves the limit", Conntrack{MaxPerCore: i32(0), Min: i32(131072), TCPEstablishedTimeout: dur(0)}, 4, nil, 0},
		{"every timeout", Conntrack{TCPBeLiberal: true, UDPTimeout: 30 * time.Second, UDPStreamTimeout: 2 * time.Minute}, 1, []ConntrackSysctl{
			{"nf_conntrack_tcp_be_liberal", 1, false},
			{"nf_conntrack_udp_timeout", 30, false},
			{"nf_conntrack_udp_timeout_stream", 120, false},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, hashsize := ConntrackSysctls(tt.ct, tt.cpus)
			if diff := cmp.Diff(tt.want, got); diff != "" || hashsize != tt.hashsize {
				t.Errorf("hashsize %d want %d; sysctls (-want +got):\n%s", hashsize, tt.hashsize, diff)
			}
		})
	}
}

func TestCountCPUList(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0-3": 4, "0-3,8,10-11": 7, "": 0, "3-1": 0, "x": 0} {
		if got := countCPUList(list); got != want {
			t.Errorf("%q: %d, want %d", list, got, want)
		}
	}
	if NodeCPUs() < 1 {
		t.Error("no CPU")
	}
}
