package agent

import (
	"github.com/svcnat/svcnat/agent/metrics"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// TableCounter is implemented by backends that count what the last
// successful Apply programmed per IP family and table. The agent then
// reports per-family rules and elements in /svcnat/status, and in
// iptables mode kube-proxy's sync_proxy_rules_iptables_total (rules) and
// sync_proxy_rules_iptables_last (written) per table. Without it, only a
// single-family node gets per-family counts (backend.Stats' totals).
type TableCounter interface {
	// TableCounts calls fn once per family and table: the rules and set or
	// map elements the table holds, and the rules the last Apply wrote.
	TableCounts(fn func(fam synth.Family, table string, rules, elements, written int))
}

// familyStatus describes what each family of rs holds after an Apply that
// returned stats, and updates the per-table metrics.
func (a *Agent) familyStatus(rs []*synth.Ruleset, stats backend.Stats) []FamilyStatus {
	var out []FamilyStatus
	index := map[synth.Family]int{}
	for _, r := range rs {
		if r != nil {
			index[r.Family] = len(out)
			out = append(out, FamilyStatus{Family: r.Family.String(), ServicePorts: len(r.Services)})
		}
	}
	tc, ok := a.be.(TableCounter)
	if !ok {
		if len(out) == 1 {
			out[0].Rules, out[0].Elements = stats.Rules, stats.Elements
		}
		return out
	}
	tc.TableCounts(func(fam synth.Family, table string, rules, elements, written int) {
		if i, ok := index[fam]; ok {
			out[i].Rules += rules
			out[i].Elements += elements
		}
		f := metrics.IPFamily(fam)
		a.metrics.IPTablesRulesTotal.WithLabelValues(table, f).Set(float64(rules))
		a.metrics.IPTablesRulesLastSync.WithLabelValues(table, f).Set(float64(written))
	})
	return out
}
