package iptables

import (
	"context"
	"fmt"

	"github.com/svcnat/svcnat/backend"
)

var _ backend.Inspector = (*Backend)(nil)

// Inspect implements backend.Inspector: it reads both families with
// iptables-save (the flavour chosen by New) and counts svcnat's chains,
// their rules and its jump rules in built-in chains.
func (b *Backend) Inspect(ctx context.Context) ([]backend.Inventory, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []backend.Inventory
	for _, fam := range families {
		have, err := b.readKernel(ctx, fam)
		if err != nil {
			return nil, fmt.Errorf("read %s (%s): %w", fam, b.flavour, err)
		}
		inv := backend.Inventory{Family: fam}
		for _, name := range tableNames {
			t, jumps := have.tables[name], have.jumps[name]
			if len(t) == 0 && len(jumps) == 0 {
				continue
			}
			inv.Tables = append(inv.Tables, name)
			inv.Chains += len(t)
			inv.Rules += t.ruleCount() + len(jumps)
		}
		out = append(out, inv)
	}
	return out, nil
}
