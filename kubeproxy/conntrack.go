package kubeproxy

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ConntrackSysctl is one value kube-proxy writes to
// /proc/sys/net/netfilter/<Name>. OnlyRaise: write it only when the current
// value is lower (nf_conntrack_max); otherwise write it when it differs.
type ConntrackSysctl struct {
	Name      string
	Value     int
	OnlyRaise bool
}

// maxConntrackLimit caps maxPerCore x CPUs, like kube-proxy.
const maxConntrackLimit = 1 << 20

// ConntrackSysctls returns what kube-proxy v1.37 does with the conntrack
// settings on a node with numCPU online CPUs, in its order: the sysctls to
// write, and the minimum of /sys/module/nf_conntrack/parameters/hashsize
// (raise it when lower; 0: leave it). Zero values leave the kernel's.
func ConntrackSysctls(ct Conntrack, numCPU int) (sysctls []ConntrackSysctl, minHashsize int) {
	if ct.MaxPerCore != nil && *ct.MaxPerCore > 0 {
		limit := int(*ct.MaxPerCore) * numCPU
		if ct.Min != nil && int(*ct.Min) > limit {
			limit = int(*ct.Min)
		}
		limit = min(limit, maxConntrackLimit)
		sysctls = append(sysctls, ConntrackSysctl{Name: "nf_conntrack_max", Value: limit, OnlyRaise: true})
		minHashsize = limit / 4
	}
	seconds := func(name string, d time.Duration) {
		if d > 0 {
			sysctls = append(sysctls, ConntrackSysctl{Name: name, Value: int(d / time.Second)})
		}
	}
	if ct.TCPEstablishedTimeout != nil {
		seconds("nf_conntrack_tcp_timeout_established", *ct.TCPEstablishedTimeout)
	}
	if ct.TCPCloseWaitTimeout != nil {
		seconds("nf_conntrack_tcp_timeout_close_wait", *ct.TCPCloseWaitTimeout)
	}
	if ct.TCPBeLiberal {
		sysctls = append(sysctls, ConntrackSysctl{Name: "nf_conntrack_tcp_be_liberal", Value: 1})
	}
	seconds("nf_conntrack_udp_timeout", ct.UDPTimeout)
	seconds("nf_conntrack_udp_timeout_stream", ct.UDPStreamTimeout)
	return sysctls, minHashsize
}

// NodeCPUs counts the node's online CPUs (/sys/devices/system/cpu/online),
// not the process's cpuset: nf_conntrack_max is host-wide, as kube-proxy
// reasons. It falls back to runtime.NumCPU.
func NodeCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return runtime.NumCPU()
	}
	if n := countCPUList(strings.TrimSpace(string(b))); n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// countCPUList counts the CPUs of a list like "0-3,8,10-11"; 0 if malformed.
func countCPUList(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}
