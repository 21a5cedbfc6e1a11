package nftables

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestFragListEdits applies random batches of replacements, insertions
// and removals to a chunked list and to a plain slice, and checks that
// both hold the same fragments in the same order, that untouched chunks
// are shared, and that the old list is left as it was.
func TestFragListEdits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	frag := func(n int) *fragment {
		return &fragment{sp: synth.ServicePort{Name: synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("p%06d", n)}}}
	}
	var plain []*fragment
	for i := 0; i < 3000; i += 3 {
		plain = append(plain, frag(i))
	}
	list := newFragList(slices.Clone(plain)) // the list takes its argument over
	for round := range 300 {
		before, snapshot := list, slices.Collect(valuesOf(&list))
		edits := map[synth.ServicePortName]*fragment{}
		for range 1 + rng.IntN(8) {
			n := rng.IntN(3100)
			f := frag(n)
			if rng.IntN(3) == 0 {
				f = nil // remove (or nothing, if absent)
			}
			edits[f2name(n)] = f
		}
		var sorted []portEdit
		for name, f := range edits {
			sorted = append(sorted, portEdit{name, f})
			i, found := slices.BinarySearchFunc(plain, name, func(f *fragment, n synth.ServicePortName) int { return f.sp.Name.Compare(n) })
			switch {
			case found && f == nil:
				plain = slices.Delete(plain, i, i+1)
			case found:
				plain[i] = f
			case f != nil:
				plain = slices.Insert(plain, i, f)
			}
		}
		slices.SortFunc(sorted, func(a, b portEdit) int { return a.name.Compare(b.name) })
		list = list.edited(sorted)
		if got := slices.Collect(valuesOf(&list)); !slices.Equal(got, plain) || list.len() != len(plain) {
			t.Fatalf("round %d: list has %d fragments, plain %d, or another order", round, list.len(), len(plain))
		}
		for i, f := range plain {
			if list.at(i) != f || list.find(f.sp.Name) != f {
				t.Fatalf("round %d: at(%d) or find(%s) is wrong", round, i, f.sp.Name)
			}
		}
		if !slices.Equal(slices.Collect(valuesOf(&before)), snapshot) {
			t.Fatalf("round %d: editing changed the old list", round)
		}
		if shared := sharedChunks(&before, &list); len(list.chunks) > 8 && shared < len(list.chunks)-len(sorted)-2 {
			t.Errorf("round %d: only %d of %d chunks shared after %d edits", round, shared, len(list.chunks), len(sorted))
		}
	}
	for _, c := range list.chunks {
		if len(c) == 0 || len(c) > 2*chunkSize {
			t.Errorf("chunk of %d fragments", len(c))
		}
	}
}

func f2name(n int) synth.ServicePortName {
	return synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("p%06d", n)}
}

func valuesOf(l *fragList) func(func(*fragment) bool) {
	return func(yield func(*fragment) bool) {
		for _, f := range l.all() {
			if !yield(f) {
				return
			}
		}
	}
}

// sharedChunks counts the chunks of b that are chunks of a (same array).
func sharedChunks(a, b *fragList) int {
	n := 0
	for _, c := range b.chunks {
		if slices.ContainsFunc(a.chunks, func(d []*fragment) bool { return &d[0] == &c[0] && len(d) == len(c) }) {
			n++
		}
	}
	return n
}
