package iptables

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// simRestores plays restore scripts on a model of one table's svcnat
// chains with the kernel's rules: a rule may only jump to a chain that
// exists, and only an unreferenced chain may be deleted.
func simRestores(t *testing.T, have table, scripts []string) table {
	t.Helper()
	state, refs := table{}, map[string]int{}
	count := func(rules []string, delta int) {
		for _, r := range rules {
			for _, target := range jumpTargets(r) {
				refs[target] += delta
			}
		}
	}
	for c, rules := range have {
		state[c] = slices.Clone(rules)
		count(rules, 1)
	}
	for i, s := range scripts {
		for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, ":"):
				name, _, _ := strings.Cut(l[1:], " ")
				count(state[name], -1)
				state[name] = nil
			case strings.HasPrefix(l, "-A "+chainPrefix):
				name, _, _ := strings.Cut(l[3:], " ")
				if _, ok := state[name]; !ok {
					t.Fatalf("script %d: rule for missing chain: %s", i, l)
				}
				for _, target := range jumpTargets(l) {
					if _, ok := state[target]; !ok {
						t.Fatalf("script %d: jump to missing chain: %s", i, l)
					}
				}
				state[name] = append(state[name], l)
				count([]string{l}, 1)
			case strings.HasPrefix(l, "-X "):
				name := l[3:]
				if refs[name] > 0 {
					t.Fatalf("script %d: deletes %s while it is referenced", i, name)
				}
				count(state[name], -1)
				delete(state, name)
			}
		}
	}
	return state
}

// TestSplitScripts checks the split restores of a first sync, a change of
// every endpoint, and a shrink: each restore is valid on its own, new
// chains are only written before the switch, old ones only removed after
// it, and the end state is the wanted one.
func TestSplitScripts(t *testing.T) {
	render := func(rs *synth.Ruleset) table {
		r, err := renderRuleset(rs, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.tables["nat"]
	}
	big, changed, small := render(genRuleset(300, 10, 1)), render(genRuleset(300, 10, 2)), render(genRuleset(40, 10, 1))
	for _, tc := range []struct {
		name       string
		have, want table
	}{
		{"first sync", table{}, big},
		{"every endpoint", big, changed},
		{"shrink", big, small},
		{"cleanup", big, table{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := diffTable(tc.have, tc.want, nil, nil)
			if !d.splits("nft") || d.splits("legacy") {
				t.Fatalf("splits: nft %v legacy %v", d.splits("nft"), d.splits("legacy"))
			}
			scripts := d.scripts("nat", "nft")
			if len(scripts) < 3 {
				t.Fatalf("%d scripts, want several", len(scripts))
			}
			phase := 0 // 0 create, 1 switch, 2 remove
			for i, s := range scripts {
				touched := scriptChains(s)
				kind := 1
				switch {
				case len(touched) > 0 && allIn(touched, d.fresh):
					kind = 0
				case len(touched) > 0 && allIn(touched, d.removed) && strings.Contains(s, "\n-X "):
					kind = 2
				}
				if kind < phase {
					t.Fatalf("script %d (phase %d) after phase %d", i, kind, phase)
				}
				phase = kind
				for _, c := range touched {
					if _, existing := tc.have[c]; existing && kind == 0 {
						t.Fatalf("script %d rewrites existing chain %s before the switch", i, c)
					}
				}
			}
			stages := d.stages("nat", "nft")
			checkStagesIndependent(t, stages, d.fresh)
			if widest := slices.MaxFunc(stages, func(a, b []string) int { return len(a) - len(b) }); tc.name == "first sync" && len(widest) < 2 {
				t.Errorf("no stage of a first sync has two restores to run at once")
			}
			got := simRestores(t, tc.have, scripts)
			if len(got) != len(tc.want) {
				t.Fatalf("end state has %d chains, want %d", len(got), len(tc.want))
			}
			for c, rules := range tc.want {
				if !slices.Equal(got[c], rules) {
					t.Fatalf("chain %s:\n got %q\nwant %q", c, got[c], rules)
				}
			}
		})
	}
}

// checkStagesIndependent: the scripts of one stage, which may run at the
// same time, declare disjoint chains, and none jumps to a new chain that
// another script of its stage, or a later stage, creates.
func checkStagesIndependent(t *testing.T, stages [][]string, fresh []string) {
	t.Helper()
	isFresh := map[string]bool{}
	for _, c := range fresh {
		isFresh[c] = true
	}
	made := map[string]bool{} // new chains made by earlier stages
	for i, stage := range stages {
		mine := map[string]int{} // new chain -> script of this stage that makes it
		for j, s := range stage {
			for _, c := range scriptChains(s) {
				if _, dup := mine[c]; dup {
					t.Fatalf("stage %d: chain %s declared by two scripts", i, c)
				}
				mine[c] = j
			}
		}
		for j, s := range stage {
			for _, l := range strings.Split(s, "\n") {
				for _, target := range jumpTargets(l) {
					if k, ok := mine[target]; isFresh[target] && !made[target] && (!ok || k != j) {
						t.Fatalf("stage %d script %d jumps to %s, made by script %d of its stage or later", i, j, target, k)
					}
				}
			}
		}
		for c := range mine {
			made[c] = true
		}
	}
}

// scriptChains lists the chains a script declares or deletes.
func scriptChains(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ":") {
			name, _, _ := strings.Cut(l[1:], " ")
			out = append(out, name)
		}
	}
	return out
}

func allIn(names, set []string) bool {
	in := map[string]bool{}
	for _, n := range set {
		in[n] = true
	}
	for _, n := range names {
		if !in[n] {
			return false
		}
	}
	return true
}

// TestCreationOrderNotSorted: chains are created in neither ascending nor
// descending name order, which would make iptables-nft-save quadratic.
func TestCreationOrderNotSorted(t *testing.T) {
	var chains []string
	want := table{}
	for i := range 1000 {
		c := fmt.Sprintf("SVCNAT-SEP-%05d", i)
		chains = append(chains, c)
		want[c] = []string{"-A " + c + " -j SVCNAT-MARK-MASQ"}
	}
	levels := creationLevels(chains, want)
	if len(levels) != 1 {
		t.Fatalf("%d levels, want 1 (no chain jumps to another)", len(levels))
	}
	got := levels[0]
	if slices.IsSorted(got) || slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatal("creation order is sorted by name")
	}
}

// TestSplitApply applies large changes with iptables-nft, which splits
// them, and checks that the kernel then holds exactly the rendered rules
// (a full re-apply after Reconcile changes nothing), down to cleanup.
func TestSplitApply(t *testing.T) {
	netns := newNetNS(t)
	b := newBackend(t, netns, ModeNFT)
	a, bb := genRuleset(300, 10, 1), genRuleset(300, 10, 2)
	bb.Services = bb.Services[:250]
	for _, rs := range []*synth.Ruleset{a, bb} {
		apply(t, b, rs)
		b.Reconcile()
		if st := apply(t, b, rs); st.Changes != 0 {
			t.Fatalf("re-apply after Reconcile changed %d things: kernel differs from rendered", st.Changes)
		}
	}
	if err := b.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := kernelState(t, netns, "nft", synth.IPv4); strings.Contains(s, "SVCNAT") {
		t.Fatalf("cleanup left:\n%s", s)
	}
}

// TestRestoreStage: the restores of a stage all apply, and a failing one
// makes the stage fail with its error.
func TestRestoreStage(t *testing.T) {
	netns := newNetNS(t)
	b := newBackend(t, netns, ModeNFT)
	script := func(chain, rule string) string {
		return "*nat\n:" + chain + " - [0:0]\n-A " + chain + " " + rule + "\nCOMMIT\n"
	}
	var good []string
	for i := range 5 {
		good = append(good, script(fmt.Sprintf("SVCNAT-STAGE-%d", i), "-j RETURN"))
	}
	if err := b.restoreStage(context.Background(), synth.IPv4, good); err != nil {
		t.Fatal(err)
	}
	state := kernelState(t, netns, "nft", synth.IPv4)
	for i := range 5 {
		if !strings.Contains(state, fmt.Sprintf("-A SVCNAT-STAGE-%d -j RETURN", i)) {
			t.Fatalf("chain %d missing:\n%s", i, state)
		}
	}
	bad := []string{script("SVCNAT-STAGE-A", "-j RETURN"), script("SVCNAT-STAGE-B", "--no-such-option"), script("SVCNAT-STAGE-C", "-j RETURN")}
	if err := b.restoreStage(context.Background(), synth.IPv4, bad); err == nil || !strings.Contains(err.Error(), "no-such-option") {
		t.Fatalf("stage with a bad restore: %v, want its error", err)
	}
}
