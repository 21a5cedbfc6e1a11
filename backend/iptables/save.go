package iptables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// readKernel returns the svcnat chains the kernel holds for one family,
// read with iptables-save (one call per table). Chains of other owners
// and built-in chains are ignored.
func (b *Backend) readKernel(ctx context.Context, fam synth.Family) (*rendered, error) {
	out := newRendered(fam)
	for _, name := range tableNames {
		text, err := b.run.exec(ctx, nil, b.flavour.binary(fam, "save"), "-t", name)
		if err != nil {
			return nil, fmt.Errorf("read %s table: %w", name, err)
		}
		out.tables[name] = parseSave(text)
	}
	return out, nil
}

// parseSave extracts the SVCNAT- chains of one table from iptables-save
// output. Rules are kept verbatim: the renderer writes the same form.
func parseSave(text []byte) table {
	t := table{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":"+chainPrefix):
			name, _, _ := strings.Cut(line[1:], " ")
			t.declare(name)
		case strings.HasPrefix(line, "-A "+chainPrefix):
			name, _, _ := strings.Cut(line[3:], " ")
			t[name] = append(t[name], line)
		}
	}
	return t
}
