package iptables

// The dispatch trie. Keys (addresses or ports) are bit strings, most
// significant bit first; a node covers the keys that share its prefix.
// Sorted keys sharing a prefix are contiguous, so a node is a range of the
// sorted key slice.

const (
	// stride is the number of bits a trie level consumes: fan-out ≤ 16.
	stride = 4
	// leafMax is the most keys a leaf chain holds. Larger leaves mean fewer
	// chains but more rules per lookup; 16 matches the fan-out, so every
	// chain a packet walks has about 16 rules.
	leafMax = 16
)

// bitKey is a key left-aligned in 128 bits.
type bitKey [16]byte

func (k bitKey) bit(i int) int { return int(k[i/8]>>(7-i%8)) & 1 }

// bits returns the n bits starting at bit i, as an integer.
func (k bitKey) bits(i, n int) int {
	v := 0
	for j := i; j < i+n; j++ {
		v = v<<1 | k.bit(j)
	}
	return v
}

func commonPrefixLen(a, b bitKey, width int) int {
	for i := 0; i < width; i++ {
		if a.bit(i) != b.bit(i) {
			return i
		}
	}
	return width
}

// trieNode covers keys[lo:hi]; plen is the length of their common prefix.
type trieNode struct {
	lo, hi   int
	plen     int
	children []*trieNode // nil for a leaf
}

// buildTrie builds the trie over sorted, distinct keys of width bits.
// Each level splits on the stride bits after the common prefix, so the
// children's prefixes are disjoint: a packet enters at most one child per
// level, and a miss costs one rule per sibling.
func buildTrie(keys []bitKey, width int) *trieNode {
	if len(keys) == 0 {
		return nil
	}
	return buildNode(keys, 0, len(keys), width)
}

func buildNode(keys []bitKey, lo, hi, width int) *trieNode {
	n := &trieNode{lo: lo, hi: hi, plen: commonPrefixLen(keys[lo], keys[hi-1], width)}
	if hi-lo <= leafMax || n.plen == width {
		return n
	}
	s := min(stride, width-n.plen)
	start := lo
	for i := lo + 1; i <= hi; i++ {
		if i == hi || keys[i].bits(n.plen, s) != keys[start].bits(n.plen, s) {
			n.children = append(n.children, buildNode(keys, start, i, width))
			start = i
		}
	}
	return n
}

// depth is the number of chains on the longest root-to-leaf path.
func (n *trieNode) depth() int {
	d := 0
	for _, c := range n.children {
		d = max(d, c.depth())
	}
	return d + 1
}
