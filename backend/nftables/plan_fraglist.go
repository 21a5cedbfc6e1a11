package nftables

import (
	"iter"
	"slices"
	"sort"

	"github.com/svcnat/svcnat/synth"
)

// fragList holds a model's fragments in Ruleset order (sorted by service
// port name), in chunks that models share. Chunks are never modified once
// a list is built, so a model built from a change list (buildModel with a change list) copies
// only the chunks the change touches: a one-endpoint sync at 50k Services
// then costs the same as at 1k instead of copying 50k pointers (and making
// the garbage collector scan them).
type fragList struct {
	chunks [][]*fragment // none empty
	ends   []int         // ends[k] is the number of fragments in chunks[:k+1]
}

// chunkSize is the length of the chunks of a new list; edits let a chunk
// grow to twice that before it is split.
const chunkSize = 256

// newFragList makes a list of fs, which it takes over: its chunks are
// parts of fs.
func newFragList(fs []*fragment) fragList {
	var l fragList
	for start := 0; start < len(fs); start += chunkSize {
		end := min(start+chunkSize, len(fs))
		l.chunks = append(l.chunks, fs[start:end:end])
	}
	l.index()
	return l
}

func (l *fragList) index() {
	l.ends = make([]int, len(l.chunks))
	n := 0
	for k, c := range l.chunks {
		n += len(c)
		l.ends[k] = n
	}
}

func (l *fragList) len() int {
	if len(l.ends) == 0 {
		return 0
	}
	return l.ends[len(l.ends)-1]
}

// at returns fragment i (0 <= i < len).
func (l *fragList) at(i int) *fragment {
	k := sort.SearchInts(l.ends, i+1)
	start := 0
	if k > 0 {
		start = l.ends[k-1]
	}
	return l.chunks[k][i-start]
}

// all yields every fragment with its index, in order.
func (l *fragList) all() iter.Seq2[int, *fragment] {
	return func(yield func(int, *fragment) bool) {
		i := 0
		for _, c := range l.chunks {
			for _, f := range c {
				if !yield(i, f) {
					return
				}
				i++
			}
		}
	}
}

// chunkOf returns the chunk a fragment named name is in, or would be
// inserted into: the first whose last name is not below name (the last
// chunk when every name is below).
func (l *fragList) chunkOf(name synth.ServicePortName) int {
	k := sort.Search(len(l.chunks), func(k int) bool {
		c := l.chunks[k]
		return c[len(c)-1].sp.Name.Compare(name) >= 0
	})
	return min(k, max(len(l.chunks)-1, 0))
}

// find returns the fragment named name, or nil.
func (l *fragList) find(name synth.ServicePortName) *fragment {
	if len(l.chunks) == 0 {
		return nil
	}
	c := l.chunks[l.chunkOf(name)]
	i, ok := slices.BinarySearchFunc(c, name, func(f *fragment, n synth.ServicePortName) int { return f.sp.Name.Compare(n) })
	if !ok {
		return nil
	}
	return c[i]
}

// portEdit replaces the fragment named name by f; a nil f removes it, an
// absent name inserts f.
type portEdit struct {
	name synth.ServicePortName
	f    *fragment
}

// edited returns a new list with edits (sorted by name, one per name)
// applied; chunks without an edit are shared with l.
func (l *fragList) edited(edits []portEdit) fragList {
	out := fragList{chunks: make([][]*fragment, 0, len(l.chunks)+1)}
	if len(l.chunks) == 0 {
		out.chunks = append(out.chunks, nil)
	} else {
		out.chunks = append(out.chunks, l.chunks...)
	}
	for len(edits) > 0 {
		k := l.chunkOf(edits[0].name)
		n := 1
		for n < len(edits) && l.chunkOf(edits[n].name) == k {
			n++
		}
		out.chunks[k] = mergeChunk(out.chunks[k], edits[:n])
		edits = edits[n:]
	}
	out.chunks = splitChunks(out.chunks)
	out.index()
	return out
}

// mergeChunk applies edits to a copy of chunk c (both sorted by name).
func mergeChunk(c []*fragment, edits []portEdit) []*fragment {
	out := make([]*fragment, 0, len(c)+len(edits))
	i := 0
	for _, e := range edits {
		for i < len(c) && c[i].sp.Name.Compare(e.name) < 0 {
			out = append(out, c[i])
			i++
		}
		if i < len(c) && c[i].sp.Name == e.name {
			i++ // replaced or removed
		}
		if e.f != nil {
			out = append(out, e.f)
		}
	}
	return append(out, c[i:]...)
}

// splitChunks drops empty chunks and halves those grown past twice the
// chunk size.
func splitChunks(chunks [][]*fragment) [][]*fragment {
	out := make([][]*fragment, 0, len(chunks)+1)
	for _, c := range chunks {
		for len(c) > 2*chunkSize {
			out = append(out, c[:chunkSize:chunkSize])
			c = c[chunkSize:]
		}
		if len(c) > 0 {
			out = append(out, c)
		}
	}
	return out
}
