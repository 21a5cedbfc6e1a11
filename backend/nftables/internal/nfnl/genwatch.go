package nfnl

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Generation implements Kernel: it asks the kernel for the ruleset
// generation.
func (c *Conn) Generation() (uint32, error) {
	msgs, err := c.gen.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	})
	if err != nil {
		return 0, fmt.Errorf("get ruleset generation: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		if v := attrBytes(m.Data[4:], unix.NFTA_GEN_ID); len(v) == 4 {
			return binary.BigEndian.Uint32(v), nil
		}
	}
	return 0, fmt.Errorf("get ruleset generation: no generation in the answer")
}

// GenWatch makes a periodic reconcile cheap when nothing happened: the
// kernel counts every committed nf_tables transaction of the namespace (the
// ruleset generation). If the generation is still the one svcnat's own
// last batch produced, nobody touched any table since, so the kernel holds
// exactly what was applied and reading it back (seconds at 10k Services)
// can be skipped. Any other commit, even to another table, makes the next
// reconcile read the kernel.
type GenWatch struct {
	k     Kernel
	gen   uint32 // generation right after svcnat's last batch
	valid bool   // gen is known to be exactly svcnat's own commit
}

// NewGenWatch watches the generation of k; it knows nothing yet.
func NewGenWatch(k Kernel) *GenWatch { return &GenWatch{k: k} }

// Current is the kernel's generation now.
func (g *GenWatch) Current() (uint32, error) { return g.k.Generation() }

// Committed records the generation after an Apply that began when the
// generation was before (and, when sent, committed one batch): the state is
// known to be svcnat's alone only if the generation moved by exactly that.
func (g *GenWatch) Committed(before uint32, beforeErr error, sent bool) {
	after, err := g.k.Generation()
	step := uint32(0)
	if sent {
		step = 1
	}
	g.gen, g.valid = after, beforeErr == nil && err == nil && after == before+step
}

// Unchanged reports whether no transaction was committed since svcnat's
// last batch.
func (g *GenWatch) Unchanged() bool {
	if !g.valid {
		return false
	}
	now, err := g.k.Generation()
	return err == nil && now == g.gen
}

// Forget drops what is known: the next Unchanged is false.
func (g *GenWatch) Forget() { g.valid = false }
