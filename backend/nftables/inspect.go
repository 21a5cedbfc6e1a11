package nftables

import (
	"context"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

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
	r, err := newKernelReader(b.netns, f)
	if err != nil {
		return inv, err
	}
	defer r.close()
	kt, err := r.readTable()
	if err != nil || kt == nil {
		return inv, err
	}
	inv.Tables = []string{familyKeyword(f) + " " + TableName}
	if err := r.readChains(kt); err != nil {
		return inv, err
	}
	if err := r.readSets(kt); err != nil {
		return inv, err
	}
	inv.Chains = len(kt.chains)
	for _, c := range kt.chains {
		n, err := r.count(unix.NFT_MSG_GETRULE, unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN, c.name, 0)
		if err != nil {
			return inv, fmt.Errorf("count rules of %s: %w", c.name, err)
		}
		inv.Rules += n
	}
	for _, s := range kt.sets {
		n, err := r.count(unix.NFT_MSG_GETSETELEM, unix.NFTA_SET_ELEM_LIST_TABLE, unix.NFTA_SET_ELEM_LIST_SET, s.name, unix.NFTA_SET_ELEM_LIST_ELEMENTS)
		if err != nil {
			return inv, fmt.Errorf("count elements of %s: %w", s.name, err)
		}
		inv.Elements += n
	}
	return inv, nil
}

// count dumps the rules of one chain (list 0: each answer is one) or the
// elements of one set (list: the attribute holding them) and counts them
// without keeping them.
func (r *kernelReader) count(msg int, tableAttr, nameAttrType uint16, name string, list uint16) (int, error) {
	req := []netlink.Attribute{nameAttr(tableAttr, TableName), nameAttr(nameAttrType, name)}
	n := 0
	err := r.request(msg, true, req, func(data []byte) error {
		if list == 0 {
			n++
			return nil
		}
		attrs(data, func(typ uint16, v []byte) {
			if typ == list {
				attrs(v, func(typ uint16, _ []byte) {
					if typ == unix.NFTA_LIST_ELEM {
						n++
					}
				})
			}
		})
		return nil
	})
	return n, err
}
