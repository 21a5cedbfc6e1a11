package iptables

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// renderCache remembers what each ServicePort rendered to, so that an
// Apply after a small change re-renders only the ServicePorts that
// changed. At 10k Services, rendering everything cost ~0.6 s of CPU per
// one-endpoint Apply, more than a third of it.
type renderCache struct {
	// ctx is the Ruleset-level input the renderings depend on; when it
	// changes, every entry is stale.
	ctx  string
	byID map[string]*spRender
}

// spRender is what one ServicePort contributes: its own chains and its
// dispatch and NodePort leaf rules, in the order they were added.
type spRender struct {
	sp        synth.ServicePort // deep copy, compared with the next one
	chains    table
	dispatch  []addrRule
	nodePorts []portRule
}

type addrRule struct {
	addr netip.Addr
	rule string
}

type portRule struct {
	proto synth.Protocol
	port  uint16
	rule  string
}

// cacheContext lists every Ruleset field and option servicePort reads.
func cacheContext(rs *synth.Ruleset, opt RenderOptions) string {
	s := fmt.Sprint(rs.Family, rs.MasqueradeAll, opt.RandomFully)
	for _, m := range podMatches(rs) {
		s += " " + m
	}
	return s
}

// servicePorts renders every ServicePort into r, reusing the cache's
// rendering where the ServicePort is unchanged; c may be nil.
func (r *renderer) servicePorts(c *renderCache) error {
	if c == nil {
		c = &renderCache{}
	}
	if ctx := cacheContext(r.rs, r.opt); ctx != c.ctx {
		c.ctx, c.byID = ctx, nil
	}
	next := make(map[string]*spRender, len(r.rs.Services))
	for i := range r.rs.Services {
		sp := r.rs.Services[i]
		if _, dup := next[sp.ID]; dup {
			// Two ServicePorts with one ID share chains: render into
			// the shared table as the uncached renderer always did.
			if err := r.servicePort(sp); err != nil {
				return fmt.Errorf("service port %s: %w", sp.Name, err)
			}
			continue
		}
		e := c.byID[sp.ID]
		if e == nil || !e.sp.Equal(sp) {
			var err error
			if e, err = r.renderOne(sp); err != nil {
				return fmt.Errorf("service port %s: %w", sp.Name, err)
			}
		}
		next[sp.ID] = e
		r.merge(e)
	}
	c.byID = next
	return nil
}

// renderOne renders sp on its own, capturing what it adds.
func (r *renderer) renderOne(sp *synth.ServicePort) (*spRender, error) {
	nat, dispatch, nodePorts := r.nat, r.dispatch, r.nodePorts
	defer func() { r.nat, r.dispatch, r.nodePorts = nat, dispatch, nodePorts }()
	e := &spRender{sp: sp.Clone(), chains: table{}}
	r.nat, r.dispatch, r.nodePorts = e.chains, nil, nil
	r.capture = e
	defer func() { r.capture = nil }()
	if err := r.servicePort(sp); err != nil {
		return nil, err
	}
	return e, nil
}

// merge adds one ServicePort's rendering to the family's state.
func (r *renderer) merge(e *spRender) {
	for c, rules := range e.chains {
		// Clipped: an append (duplicate IDs) must copy, not write
		// into the cached backing array.
		r.nat[c] = slices.Clip(rules)
	}
	for _, d := range e.dispatch {
		r.dispatch[d.addr] = append(r.dispatch[d.addr], d.rule)
	}
	for _, p := range e.nodePorts {
		r.nodePortRule(p.proto, p.port, p.rule)
	}
}

func (r *renderer) nodePortRule(proto synth.Protocol, port uint16, rule string) {
	m := r.nodePorts[proto]
	if m == nil {
		m = map[uint16][]string{}
		r.nodePorts[proto] = m
	}
	m[port] = append(m[port], rule)
}
