package backend

import (
	"context"
	"time"

	"github.com/svcnat/svcnat/synth"
)

// Backend programs Rulesets into one network namespace, in two phases:
// Plan computes what would change (it may read the kernel, never writes
// it), Commit sends one Plan atomically (per table).
//
// Every method takes all Rulesets of the node at once (normally one per IP
// family, IPv4 first). A family without a (non-nil) Ruleset has nothing:
// the backend removes what it owns for that family rather than leaving
// stale rules behind.
//
// A backend may keep what it was given to compare the next plan with:
// callers must not modify a Ruleset, or the slices in it, once passed
// (synth's Results never are).
//
// The shared State decides how a plan compares: the first plan, the first
// after Reconcile and the first after a failed Commit compare against what
// the kernel really holds (Plan.Full); later ones against what the previous
// successful Commit left, and only in what changed says.
type Backend interface {
	// Name is a short identifier ("nftables", "iptables") for logs and metrics.
	Name() string
	// Render returns the text a dry run prints: an nft script or
	// iptables-restore input. It never touches the kernel and is
	// deterministic: the same Rulesets give the same bytes.
	Render(rs []*synth.Ruleset) ([]byte, error)
	// Plan computes what converging the kernel to rs takes. changed names
	// what differs from the Rulesets of the previous successful Commit:
	// the service ports it names (more may be named), and Ruleset-wide
	// fields only if changed.Fields. A nil changed means not known: every
	// service port is compared. A full plan ignores changed, so a periodic
	// Reconcile repairs a wrong change list.
	Plan(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes) (Plan, error)
	// Commit sends p to the kernel atomically (per table). A plan made
	// before another Commit, Reconcile or Cleanup is refused with
	// ErrStalePlan and changes nothing.
	Commit(ctx context.Context, p Plan) (Stats, error)
	// Reconcile makes the next Plan compare against what the kernel really
	// holds (use after an error or periodically, to repair tampering).
	Reconcile()
	// Cleanup removes everything this backend owns.
	Cleanup(ctx context.Context) error
	// Close releases what the backend holds (sockets, namespace handles);
	// the kernel's rules stay.
	Close() error
}

// Apply is Plan then Commit, for callers that do not need the plan.
func Apply(ctx context.Context, b Backend, rs []*synth.Ruleset, changed *synth.Changes) (Stats, error) {
	p, err := b.Plan(ctx, rs, changed)
	if err != nil {
		return Stats{}, err
	}
	return b.Commit(ctx, p)
}

// PlanDetail is the backend-specific part of a Plan: the operations it
// decided, opaque to callers.
type PlanDetail interface {
	// String is the operations as text: nft commands, iptables-restore
	// input. Empty when there is nothing to do.
	String() string
	// Empty reports whether committing changes nothing in the kernel.
	Empty() bool
}

// Plan is what one Commit will send, made by Backend.Plan. It refers to
// the model it was planned from rather than copying it.
type Plan struct {
	ticket  Ticket
	started time.Time
	detail  PlanDetail
}

// NewPlan is for backends: a plan made against the state of t, started at
// started (Stats.Duration counts from there).
func NewPlan(t Ticket, started time.Time, d PlanDetail) Plan {
	return Plan{ticket: t, started: started, detail: d}
}

// String is what `svcnat diff` prints and the agent logs at -v=4.
func (p Plan) String() string {
	if p.detail == nil {
		return ""
	}
	return p.detail.String()
}

// Empty reports whether committing p changes nothing in the kernel.
func (p Plan) Empty() bool { return p.detail == nil || p.detail.Empty() }

// Full reports whether p was compared against the kernel's real state
// rather than against the previous Commit.
func (p Plan) Full() bool { return p.ticket.Full() }

// Ticket is the state p was made against, for the backend's Commit.
func (p Plan) Ticket() Ticket { return p.ticket }

// Started is when planning began.
func (p Plan) Started() time.Time { return p.started }

// Detail is the backend-specific part, for the backend's Commit.
func (p Plan) Detail() PlanDetail { return p.detail }

// Stats describes one Commit.
type Stats struct {
	// Full is true when the plan compared against the kernel's real state
	// (first plan, after Reconcile, or after a failed Commit).
	Full bool
	// Changes counts the objects sent to the kernel: set and map elements,
	// rules, chains, sets. Zero means the kernel already held rs.
	Changes int
	// Rules and Elements are the totals programmed after the Commit.
	Rules, Elements int
	// Duration is the wall time from the start of Plan to the end of
	// Commit, kernel round trips included.
	Duration time.Duration
}

// Options are the settings every backend understands.
type Options struct {
	// NetNS is the path of a network namespace, e.g. /run/netns/NAME or
	// /proc/PID/ns/net. Empty means the namespace of the calling process.
	NetNS string
}
