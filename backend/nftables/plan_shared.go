package nftables

import (
	"cmp"
	"fmt"
	"math/bits"

	"github.com/svcnat/svcnat/synth"
)

// sharedRef names a chain that many service ports use: its rules depend
// only on the ref and the table's params, never on one port, so the number
// of chains does not grow with the number of Services.
//
// That matters to the kernel twice. Every commit walks the table's whole
// chain list (nf_tables_commit makes each chain's next rule generation
// live), so per-port chains made even an element-only change cost time
// proportional to the Services (≈5 ms at 50k). And every rule that looks a
// map up is a binding of that map, and adding an element checks it against
// every binding, so one lookup rule per port made a full sync quadratic
// (65 s at 10k Services); shared DNAT chains keep the bindings few.
type sharedRef struct {
	kind sharedKind
	// local: the DNAT chain uses the local endpoint maps; the service
	// chain serves internalTrafficPolicy Local; the external chain
	// externalTrafficPolicy Local.
	local bool
	// n is the length of the endpoint list balanced over (the cluster list
	// for an external chain); nLocal that of the local list (external
	// chains with externalTrafficPolicy Local only).
	n, nLocal uint32
}

type sharedKind uint8

const (
	sharedDNAT sharedKind = iota // dnat-N, local-dnat-N: pick an endpoint and DNAT
	sharedSvc                    // svc-N, svc-local-N: ClusterIP traffic
	sharedExt                    // ext-N, ext-local-N-L: NodePort, external and LB IPs
)

func dnatRef(local bool, n int) sharedRef {
	return sharedRef{kind: sharedDNAT, local: local, n: uint32(n)}
}

// kindName is the first part of the chain's name: "dnat", "local-dnat",
// "svc", "svc-local", "ext" or "ext-local".
func (r sharedRef) kindName() string {
	prefix := [...]string{sharedDNAT: "dnat", sharedSvc: "svc", sharedExt: "ext"}[r.kind]
	switch {
	case r.kind == sharedDNAT && r.local:
		return "local-dnat"
	case r.local:
		return prefix + "-local"
	}
	return prefix
}

func (r sharedRef) chainName() string {
	if r.kind == sharedExt && r.local {
		return fmt.Sprintf("%s-%d-%d", r.kindName(), r.n, r.nLocal)
	}
	return fmt.Sprintf("%s-%d", r.kindName(), r.n)
}

func sharedRefCmp(x, y sharedRef) int {
	return cmp.Or(cmp.Compare(x.kind, y.kind), cmp.Compare(b2i(x.local), b2i(y.local)),
		cmp.Compare(x.n, y.n), cmp.Compare(x.nLocal, y.nLocal))
}

// chain builds the shared chain for the table's params p.
func (r sharedRef) chain(p params) *chain {
	c := &chain{name: r.chainName()}
	switch r.kind {
	case sharedDNAT:
		r.dnatRules(c)
	case sharedSvc:
		serviceRules(c, p, balanceVerdict(r.local, r.n))
	case sharedExt:
		externalRules(c, p, r.local, balanceVerdict(false, r.n), balanceVerdict(true, r.nLocal))
	}
	return c
}

// dnatRules: per protocol (nft needs one to name the port of a DNAT
// target), first the address-keyed map (ClusterIP, external and
// load-balancer IPs), then the NodePort-keyed one; a key that is not in a
// map does not match, so a packet falls through to the next rule.
func (r sharedRef) dnatRules(c *chain) {
	for _, p := range dnatProtocols {
		r.portDNATRules(c, p, false, false)
	}
}

// portDNATRules are the DNAT rules for protocol p, for the address-keyed
// map unless noAddrs and the NodePort-keyed one unless noNodePort: one
// rule per map, numgen modulo the list's length.
func (r sharedRef) portDNATRules(c *chain, p synth.Protocol, noAddrs, noNodePort bool) {
	r.mapDNATRules(c, p, noAddrs, noNodePort, []uint32{r.n})
}

// mapDNATRules adds, for each map, one rule per modulus in moduli, in
// that order: a slot that is not in the map does not match, so the packet
// tries the next rule (sampledModuli).
func (r sharedRef) mapDNATRules(c *chain, p synth.Protocol, noAddrs, noNodePort bool, moduli []uint32) {
	addrMap, portMap := mapEndpoints, mapNPEndpoints
	if r.local {
		addrMap, portMap = mapLocalEps, mapLocalNPEps
	}
	for _, m := range moduli {
		if !noAddrs {
			c.add("", l4protoStmt{proto: p}, mapDNATStmt{withAddr: true, mod: m, set: addrMap})
		}
	}
	for _, m := range moduli {
		if !noNodePort {
			c.add("", l4protoStmt{proto: p}, mapDNATStmt{mod: m, set: portMap})
		}
	}
}

// ownDNATMin is the length from which an endpoint list is balanced by a
// DNAT chain of its port's own instead of the shared dnat-N.
//
// With the shared chains a list that grows or shrinks moves its port to
// dnat-(N±1) (and to other svc- and ext- chains): chains created and
// deleted, and six new rules that look the endpoint maps up, each of which
// makes the kernel walk the whole map to check its elements against the
// new binding (nf_tables_bind_set; its shortcut for a map already bound
// from the same chain compares with the new binding's chain before setting
// it, so it never applies). A port's own chain keeps its name, its rules
// change only when the length leaves its cell (sampledModuli), and then
// they are replaced in place (flushed and added in one batch); it has
// rules only for the maps the port fills. Long lists are few, so these
// chains and their bindings (every new map element is checked against
// each binding) stay few; short lists keep sharing, which keeps the chain
// count flat at many Services.
const ownDNATMin = 256

// ownDNAT reports whether port sp balances in chains of its own because
// one of its endpoint lists is long (ownDNATMin).
func ownDNAT(sp *synth.ServicePort) bool {
	return len(sp.ClusterEndpoints) >= ownDNATMin || len(sp.LocalEndpoints) >= ownDNATMin
}

// sampledTries is how many times a long list's DNAT chain draws a slot
// below its fixed modulus before its last resort (sampledModuli).
const sampledTries = 4

// sampledModuli returns the moduli of the DNAT rules of a long list of n
// endpoints (ownDNAT): sampledTries rules modulo m, then one modulo f,
// where m and f depend on n only through the cell (m-s, m] it falls in:
// s is 1/16 of the power of two at or above n, m the multiple of s at or
// above n, f = m-s+1.
//
// Why: a rule whose modulus is the list's length changes whenever the
// length does, and adding a rule that looks a map up makes the kernel walk
// every element of that map (nf_tables_bind_set), ≈ 16 ms per rule at 100k
// elements. With these rules a list that grows or shrinks inside its cell
// changes map elements only.
//
// The choice stays uniform in effect: a draw modulo m hits one of the n
// filled slots with equal probability, and misses (slots n..m-1 are
// empty, so the lookup fails and the next rule draws again) with
// probability below 1/9 (m ≥ 9s unless n is a power of two, then m = n).
// Only a packet that misses sampledTries times, probability q below
// 9^-4 ≈ 1.5e-4, is balanced over the first f slots (f ≤ n). So every
// endpoint gets 1/n·(1±q): within 0.02 % of an exact share, while
// kube-proxy's iptables probabilities are rounded to 10 decimal places.
// A packet does 1/(1-1/9) ≈ 1.1 lookups on average, at most
// sampledTries+1.
func sampledModuli(n int) []uint32 {
	s := 1
	if b := bits.Len(uint(n - 1)); b > 4 {
		s = 1 << (b - 4)
	}
	m := (n + s - 1) / s * s
	out := make([]uint32, 0, sampledTries+1)
	for range sampledTries {
		out = append(out, uint32(m))
	}
	return append(out, uint32(m-s+1))
}

// balanceVerdict goes to the DNAT chain for a list of n cluster or local
// endpoints; an empty list drops.
func balanceVerdict(local bool, n uint32) verdict {
	if n == 0 {
		return dropVerdict
	}
	return goTo(dnatRef(local, int(n)).chainName())
}

// serviceRules handle traffic to a ClusterIP: the masquerade decision,
// then load balancing (lb).
func serviceRules(c *chain, p params, lb verdict) {
	notPod := p.podMatch(true)
	switch {
	case p.masqAll:
		c.add("", markMasqStmt{})
	case notPod != nil:
		c.add("", notPod, markMasqStmt{})
	}
	c.add("", verdictStmt{lb})
}

// externalRules handle NodePorts, external IPs and load-balancer IPs.
// With externalTrafficPolicy Local (local) only traffic from outside the
// node keeps its source and goes to a local endpoint; pods and the node
// itself use the cluster endpoints, as kube-proxy does.
func externalRules(c *chain, p params, local bool, cluster, localLB verdict) {
	if !local {
		c.add("", markMasqStmt{})
		c.add("", verdictStmt{cluster})
		return
	}
	if p.masqAll {
		c.add("", markMasqStmt{})
	}
	if pod := p.podMatch(false); pod != nil {
		c.add("pod source: cluster endpoints", pod, verdictStmt{cluster})
	}
	c.add("node source: cluster endpoints, masquerade", fibLocalStmt{fd: saddr}, markMasqStmt{}, verdictStmt{cluster})
	c.add("", verdictStmt{localLB})
}

// dnatProtocols are the protocols a shared DNAT chain has rules for.
var dnatProtocols = []synth.Protocol{synth.TCP, synth.UDP, synth.SCTP}

// sharedChains builds the chains of refs for params p.
func sharedChains(refs []sharedRef, p params) []*chain {
	out := make([]*chain, len(refs))
	for i, r := range refs {
		out[i] = r.chain(p)
	}
	return out
}
