package nfnlfake

import (
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// Summarize reduces a trace's outcomes to the facts a packet-flow table
// states (scenario.CheckTrace), the way the iptables backend's simulator
// does: a drop or reject on any way is the verdict; otherwise the
// rewritten destinations are the endpoints, and the source is
// masqueraded if it is on every way (Masquerade), or only on the ways
// where the endpoint is the source itself (Hairpin). Masquerading on some
// other ways only is reported as a verdict of its own, which no table
// expects. No rewritten destination is ACCEPT.
func Summarize(src netip.Addr, outs []Outcome) synth.Trace {
	var tr synth.Trace
	src = src.Unmap()
	masqAll, masqOther := true, false
	for _, o := range outs {
		switch o.Verdict {
		case Drop:
			return synth.Trace{Verdict: synth.VerdictDrop}
		case Reject:
			return synth.Trace{Verdict: synth.VerdictReject}
		}
		if !o.DNAT.IsValid() {
			continue
		}
		tr.Verdict = synth.VerdictDNAT
		tr.Endpoints = append(tr.Endpoints, o.DNAT)
		masqAll = masqAll && o.Masquerade
		switch {
		case o.Masquerade && o.DNAT.Addr() == src:
			tr.Hairpin = true
		case o.Masquerade:
			masqOther = true
		}
	}
	if tr.Verdict == "" {
		return synth.Trace{Verdict: synth.VerdictAccept}
	}
	slices.SortFunc(tr.Endpoints, netip.AddrPort.Compare)
	tr.Endpoints = slices.Compact(tr.Endpoints)
	tr.Masquerade = masqAll
	if masqAll {
		tr.Hairpin = false
	} else if masqOther {
		tr.Verdict = "SOME-ENDPOINTS-MASQUERADED"
	}
	return tr
}
