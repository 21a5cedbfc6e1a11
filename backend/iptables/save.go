package iptables

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// readKernel returns the svcnat chains and jump rules the kernel holds for
// one family, read with iptables-save (one call per table). Chains of
// other owners and built-in chains are ignored.
func (b *Backend) readKernel(ctx context.Context, fam synth.Family) (*rendered, error) {
	out := newRendered(fam)
	for _, name := range tableNames {
		text, err := b.run.exec(ctx, nil, b.flavour.binary(fam, "save"), "-t", name)
		if err != nil {
			return nil, fmt.Errorf("read %s table: %w", name, err)
		}
		out.tables[name], out.jumps[name] = parseSave(text, jumpLines(name))
	}
	return out, nil
}

// parseSave extracts the SVCNAT- chains of one table from iptables-save
// output, and every copy of the given jump rules. Rules are kept verbatim:
// the renderer writes the same form.
//
// The text is converted to a string once and every rule is a substring of
// it: a 10k-Service nat table has ~340k lines, and one allocation per line
// would dominate the parse.
func parseSave(text []byte, jumps []string) (table, []string) {
	t := table{}
	var found []string
	rest := string(text)
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		switch {
		case strings.HasPrefix(line, "-A "+chainPrefix):
			name, _, _ := strings.Cut(line[3:], " ")
			t[name] = append(t[name], line)
		case strings.HasPrefix(line, ":"+chainPrefix):
			name, _, _ := strings.Cut(line[1:], " ")
			t.declare(name)
		case strings.HasPrefix(line, "-A ") && slices.Contains(jumps, line):
			found = append(found, line)
		}
	}
	return t, found
}
