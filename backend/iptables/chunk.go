package iptables

import (
	"hash/fnv"
	"math"
	"slices"
	"strings"
)

// Large changes with iptables-nft are sent as several restores.
//
// iptables-nft-restore (1.8.9) records, for every command, its chain and
// its jump target in the cache request (cache_chain_list_insert), a
// sorted linked list that each insertion walks from the head. A restore
// that names n chains therefore costs O(n²) string compares before it
// reaches the kernel: 12k chains (1k Services) take ≈ 3–5 s of CPU, 115k
// chains (10k Services) do not finish in 13 minutes. The kernel's commit
// in turn walks every chain of the table (nf_tables_commit,
// nft_table_validate), so each restore also costs O(table).
//
// A large change is therefore split. New chains are created and filled
// first, in restores of a bounded number of names: nothing reachable
// refers to them yet, so packets cannot see them half-built. Then one
// restore rewrites the existing chains that change and the jump rules in
// built-in chains, which switches to the new state atomically. Chains
// that are gone are flushed and deleted afterwards, again in bounded
// restores, when nothing reachable refers to them any more.
//
// The creation restores of one height in the jump graph (endpoint
// chains, then the service chains that jump to them, ...) name disjoint
// chains and jump only to chains made in earlier stages, so they run
// concurrently (restoreWorkers): the kernel commits one batch at a time,
// but one restore parses and builds its cache while another commits.
//
// iptables-legacy-restore rewrites the whole table on every call, so
// there one restore stays cheapest; small changes are one restore too.

// chunkNames bounds the distinct chain names (chains written plus the
// chains they jump to) one restore refers to: big enough that the
// per-restore costs (process start, one GETCHAIN per name, the kernel's
// commit walking every chain of the table) stay small, small enough that
// the quadratic cache request stays cheap. CPU time of the restores of a
// first sync of 10k Services, one at a time: 700 names 14.5 s, 1000
// 12.8 s, 1500 13.2 s. Two at a time (restoreWorkers), the kernel's
// commits, one per restore and each walking the whole table, weigh more:
// CPU of the whole first sync (user + system, the restores included),
// three runs each: 1000 names 29–33 s, 2000 25–26 s, 4000 29–32 s.
const chunkNames = 2000

// chunkBudget is chunkNames, raised when the table already holds rules:
// every commit that adds a rule also validates every rule reachable from
// the built-in chains (nft_table_validate, ≈ 0.8 µs a rule here, 300 ms
// at 10k Services), so fewer, larger restores are cheaper then. The cost
// per name, (validation + c·names²/2) / names, is least at
// names = √(2·validation/c) ≈ 12·√rules with c ≈ 10 ns a compare.
func chunkBudget(rules int) int {
	return max(chunkNames, int(12*math.Sqrt(float64(rules))))
}

// splitMin is the number of new plus removed chains from which a
// change is split.
const splitMin = 2000

// splits reports whether d is sent as several restores.
func (d tableDiff) splits(f flavour) bool {
	return f == "nft" && len(d.fresh)+len(d.removed) >= splitMin
}

// restoreWorkers is how many restores of one stage run at a time. Two:
// the kernel's part of each restore (its commit) runs one at a time
// anyway, so more workers would mostly add memory.
const restoreWorkers = 2

// scripts returns the restore inputs that apply d, in order.
func (d tableDiff) scripts(name string, f flavour) []string {
	return slices.Concat(d.stages(name, f)...)
}

// stages returns the restore inputs that apply d: stage after stage; the
// scripts of one stage are independent of each other.
func (d tableDiff) stages(name string, f flavour) [][]string {
	if d.empty() {
		return nil
	}
	if !d.splits(f) {
		var b strings.Builder
		d.script(&b, name)
		return [][]string{{b.String()}}
	}
	var out [][]string
	budget := chunkBudget(d.have.ruleCount())
	for _, level := range creationLevels(d.fresh, d.want) {
		var stage []string
		for _, chunk := range chunks(level, d.want, budget) {
			stage = append(stage, createScript(name, chunk, d.want))
		}
		out = append(out, stage)
	}
	if sw := d.switchDiff(); !sw.empty() {
		var b strings.Builder
		sw.script(&b, name)
		out = append(out, []string{b.String()})
	}
	removal := slices.Concat(creationLevels(d.removed, d.have)...)
	slices.Reverse(removal) // a chain goes before the chains it jumps to
	for _, chunk := range chunks(removal, d.have, budget) {
		out = append(out, []string{removeScript(name, chunk)})
	}
	return out
}

// switchDiff is the part of d that makes the new chains reachable and the
// old ones unreachable: the existing chains that change and the jumps.
func (d tableDiff) switchDiff() tableDiff {
	sw := tableDiff{want: d.want, addJumps: d.addJumps, delJumps: d.delJumps}
	for _, c := range d.changed {
		if _, ok := d.have[c]; ok {
			sw.changed = append(sw.changed, c)
		}
	}
	return sw
}

// creationLevels groups chains by their height in the jump graph among
// themselves: level 0 jumps to none of them, level h only to lower
// levels. Within a level they are ordered by a hash of the name. Not by
// name: iptables-nft-save sorts the kernel's chain list (in creation
// order) with a quicksort that takes the first element as pivot, which on
// a sorted or reverse-sorted list of 115k chains is quadratic and
// overflows the stack.
func creationLevels(chains []string, t table) [][]string {
	set := make(map[string]bool, len(chains))
	for _, c := range chains {
		set[c] = true
	}
	height := make(map[string]int, len(chains))
	var walk func(c string) int
	walk = func(c string) int {
		if h, ok := height[c]; ok {
			return h
		}
		height[c] = 0 // a cycle (not rendered) must not recurse forever
		h := 0
		for _, r := range t[c] {
			for _, target := range jumpTargets(r) {
				if set[target] && target != c {
					h = max(h, walk(target)+1)
				}
			}
		}
		height[c] = h
		return h
	}
	type key struct {
		height int
		hash   uint64
		name   string
	}
	keys := make([]key, len(chains))
	for i, c := range chains {
		keys[i] = key{walk(c), nameHash(c), c}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.height != b.height {
			return a.height - b.height
		}
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var out [][]string
	for i, k := range keys {
		if i == 0 || k.height != keys[i-1].height {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], k.name)
	}
	return out
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// jumpTargets returns the svcnat chains a rule jumps or goes to.
func jumpTargets(rule string) []string {
	var out []string
	for _, verb := range []string{" -j ", " -g "} {
		rest := rule
		for {
			i := strings.Index(rest, verb)
			if i < 0 {
				break
			}
			rest = rest[i+len(verb):]
			target, _, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(target, chainPrefix) {
				out = append(out, target)
			}
		}
	}
	return out
}

// chunks cuts ordered chains into runs that refer to at most budget
// distinct names each (the chains and the chains they jump to), which is
// the length of iptables-nft-restore's cache request list.
func chunks(ordered []string, t table, budget int) [][]string {
	var out [][]string
	start, seen := 0, map[string]bool{}
	for i, c := range ordered {
		names := []string{c}
		for _, r := range t[c] {
			names = append(names, jumpTargets(r)...)
		}
		unseen := map[string]bool{}
		for _, name := range names {
			if !seen[name] {
				unseen[name] = true
			}
		}
		if len(seen)+len(unseen) > budget && i > start {
			out = append(out, ordered[start:i])
			start, seen = i, map[string]bool{}
		}
		for _, name := range names {
			seen[name] = true
		}
	}
	if start < len(ordered) {
		out = append(out, ordered[start:])
	}
	return out
}

// createScript declares the new chains of one chunk and fills them.
func createScript(name string, chunk []string, want table) string {
	var b strings.Builder
	b.WriteString("*" + name + "\n")
	for _, c := range chunk {
		writeDecl(&b, c)
	}
	for _, c := range chunk {
		for _, r := range want[c] {
			b.WriteString(r)
			b.WriteByte('\n')
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// removeScript flushes and deletes one chunk of unreachable chains. The
// chains they jump to come in this or a later chunk.
func removeScript(name string, chunk []string) string {
	var b strings.Builder
	b.WriteString("*" + name + "\n")
	for _, c := range chunk {
		writeDecl(&b, c)
	}
	for _, c := range chunk {
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}
