package iptables

import (
	"bytes"
	"fmt"

	"github.com/svcnat/svcnat/synth"
)

// Render renders every family's Ruleset as iptables-restore --noflush
// input, IPv4 first, each preceded by comment lines naming the restore
// binary and the jump rules the applier adds to built-in chains. Lines
// starting with '#' are comments for iptables-restore, so each family's
// part can be fed to it as is.
func Render(rs []*synth.Ruleset, opt RenderOptions) ([]byte, error) {
	fams, err := renderAll(rs, opt)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, r := range fams {
		if r == nil {
			continue
		}
		fmt.Fprintf(&b, "# svcnat %s: %s --noflush\n", r.family, restoreName(r.family))
		for _, j := range JumpRules() {
			fmt.Fprintf(&b, "# %s %s\n", cmdName(r.family), j)
		}
		b.WriteString(r.text())
	}
	return b.Bytes(), nil
}

// renderAll renders one entry per family, IPv4 first; an entry is nil
// when the family has nothing.
func renderAll(rs []*synth.Ruleset, opt RenderOptions) ([2]*rendered, error) {
	return renderAllCached(rs, opt, nil)
}

// renderAllCached is renderAll with a render cache per family (nil: none).
func renderAllCached(rs []*synth.Ruleset, opt RenderOptions, caches *[2]*renderCache) ([2]*rendered, error) {
	var out [2]*rendered
	for _, r := range rs {
		if r == nil {
			continue
		}
		i := famIndex(r.Family)
		if out[i] != nil {
			return out, fmt.Errorf("two %s rulesets", r.Family)
		}
		var c *renderCache
		if caches != nil {
			if caches[i] == nil {
				caches[i] = &renderCache{}
			}
			c = caches[i]
		}
		rr, err := renderRulesetCached(r, opt, c)
		if err != nil {
			return out, fmt.Errorf("render %s: %w", r.Family, err)
		}
		out[i] = rr
	}
	return out, nil
}

var families = [2]synth.Family{synth.IPv4, synth.IPv6}

func famIndex(f synth.Family) int {
	if f == synth.IPv6 {
		return 1
	}
	return 0
}

func cmdName(f synth.Family) string {
	if f == synth.IPv6 {
		return "ip6tables"
	}
	return "iptables"
}

func restoreName(f synth.Family) string { return cmdName(f) + "-restore" }
