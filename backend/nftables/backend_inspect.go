package nftables

import (
	"context"
	"fmt"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

var _ backend.Inspector = (*Backend)(nil)

// Inspect implements backend.Inspector: it counts the chains, rules and
// set elements of both svcnat tables with read-only netlink dumps.
func (b *Backend) Inspect(ctx context.Context) ([]backend.Inventory, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []backend.Inventory
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inv, err := b.inspectFamily(f)
		if err != nil {
			return nil, explain(fmt.Sprintf("read %s table", f), err)
		}
		out = append(out, inv)
	}
	return out, nil
}

func (b *Backend) inspectFamily(f synth.Family) (backend.Inventory, error) {
	inv := backend.Inventory{Family: f}
	r, err := b.kernel.Read(nfnlFamily(f), TableName)
	if err != nil {
		return inv, err
	}
	defer r.Close()
	t, err := r.Table()
	if err != nil || t == nil {
		return inv, err
	}
	inv.Tables = []string{familyKeyword(f) + " " + TableName}
	if err := r.Chains(t); err != nil {
		return inv, err
	}
	if err := r.Sets(t); err != nil {
		return inv, err
	}
	inv.Chains = len(t.Chains)
	for _, c := range t.Chains {
		n, err := r.CountRules(c)
		if err != nil {
			return inv, err
		}
		inv.Rules += n
	}
	for _, s := range t.Sets {
		n, err := r.CountElems(s)
		if err != nil {
			return inv, err
		}
		inv.Elements += n
	}
	return inv, nil
}
