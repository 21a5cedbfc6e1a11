package backend

import (
	"context"
	"time"

	"github.com/svcnat/svcnat/synth"
)

// Backend programs Rulesets into one network namespace.
//
// Every method takes all Rulesets of the node at once (normally one per IP
// family, IPv4 first). A family without a (non-nil) Ruleset has nothing:
// the backend removes what it owns for that family rather than leaving
// stale rules behind.
type Backend interface {
	// Name is a short identifier ("nftables", "iptables") for logs and metrics.
	Name() string
	// Render returns the text a dry run prints: an nft script or
	// iptables-restore input. It never touches the kernel and is
	// deterministic: the same Rulesets give the same bytes.
	Render(rs []*synth.Ruleset) ([]byte, error)
	// Apply converges the kernel to rs atomically (per table). The first call
	// and the first call after Reconcile compare against what the kernel
	// really holds; later calls send only what changed since the previous
	// successful Apply.
	Apply(ctx context.Context, rs []*synth.Ruleset) (Stats, error)
	// Diff describes what Apply would change, without changing anything.
	Diff(ctx context.Context, rs []*synth.Ruleset) ([]byte, error)
	// Reconcile forgets cached state so the next Apply compares against what
	// the kernel really holds (use after an error or periodically, to repair
	// tampering).
	Reconcile()
	// Cleanup removes everything this backend owns.
	Cleanup(ctx context.Context) error
}

// ChangeApplier is implemented by backends that can be told which service
// ports changed, so that a sync costs work in proportion to the change
// rather than to the cluster (the agent's synth.Builder knows it).
type ChangeApplier interface {
	// ApplyChanged is Apply for Rulesets that differ from those of the
	// previous successful Apply or ApplyChanged at most in what changed
	// says: the service ports it names (more may be named), and
	// Ruleset-wide fields only if changed.Fields. A nil changed means not
	// known: it is then exactly Apply, and so is every call while the
	// backend's state is not known (first call, after Reconcile or an
	// error), so a periodic Reconcile repairs a wrong change list.
	ApplyChanged(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes) (Stats, error)
}

// Stats describes one Apply.
type Stats struct {
	// Full is true when the Apply compared against the kernel's real state
	// (first Apply, after Reconcile, or after a failed Apply).
	Full bool
	// Changes counts the objects sent to the kernel: set and map elements,
	// rules, chains, sets. Zero means the kernel already held rs.
	Changes int
	// Rules and Elements are the totals programmed after the Apply.
	Rules, Elements int
	// Duration is the wall time of the Apply, kernel round trips included.
	Duration time.Duration
}

// Options are the settings every backend understands.
type Options struct {
	// NetNS is the path of a network namespace, e.g. /run/netns/NAME or
	// /proc/PID/ns/net. Empty means the namespace of the calling process.
	NetNS string
}
