package backend

import (
	"context"

	"github.com/svcnat/svcnat/synth"
)

// Inventory is what a backend finds of its own state in the kernel for one
// IP family: a read-only census for `svcnat status --netns`, independent of
// any running agent.
type Inventory struct {
	Family synth.Family
	// Tables names where svcnat's state lives: "ip svcnat" or "ip6 svcnat"
	// for nftables; "nat" and "filter" (those holding svcnat chains) for
	// iptables. Empty: nothing of svcnat's in this family.
	Tables []string
	// Chains, Rules and Elements count svcnat's chains, the rules in them
	// (plus, for iptables, its jump rules in built-in chains) and the
	// elements of its sets and maps (nftables only).
	Chains, Rules, Elements int
}

// Inspector is implemented by backends that can read back what they
// programmed. Inspect changes nothing.
type Inspector interface {
	Inspect(ctx context.Context) ([]Inventory, error)
}
