package iptables

import (
	"slices"
	"strings"
)

// tableDiff is the restore input that turns one table from have into want,
// touching only chains that differ.
type tableDiff struct {
	changed []string // chains to (re)write, sorted
	removed []string // chains to delete, sorted
	want    table
}

func diffTable(have, want table) tableDiff {
	d := tableDiff{want: want}
	for _, c := range want.chains() {
		old, ok := have[c]
		if !ok || !slices.Equal(old, want[c]) {
			d.changed = append(d.changed, c)
		}
	}
	for _, c := range have.chains() {
		if _, ok := want[c]; !ok {
			d.removed = append(d.removed, c)
		}
	}
	return d
}

func (d tableDiff) empty() bool { return len(d.changed) == 0 && len(d.removed) == 0 }

// changes counts the lines sent: declarations, rules and deletions.
func (d tableDiff) changes() int {
	n := len(d.changed) + 2*len(d.removed)
	for _, c := range d.changed {
		n += len(d.want[c])
	}
	return n
}

// script writes the --noflush restore input. Declaring a chain flushes it,
// so changed chains are rewritten whole; removed chains are flushed first
// (dropping their own jumps) and deleted last, after every chain that
// referred to them has been rewritten, all in one COMMIT.
func (d tableDiff) script(b *strings.Builder, name string) {
	if d.empty() {
		return
	}
	b.WriteString("*" + name + "\n")
	for _, c := range d.changed {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range d.removed {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range d.changed {
		for _, r := range d.want[c] {
			b.WriteString(r + "\n")
		}
	}
	for _, c := range d.removed {
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n")
}
