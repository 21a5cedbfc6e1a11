package nftables

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// convergenceSeeds are the orders TestConvergence replays; a failure
// names its seed, and the same seed replays the same steps.
var convergenceSeeds = []uint64{1, 2, 3, 4}

// TestConvergence replays the scenarios in random orders through one
// backend on one in-memory kernel, each scenario as a few syncs (its
// input, then without one Service's endpoints, without one Service, and
// whole again), like an agent living through every situation the
// scenarios describe; now and then another program changes the table
// first (Reconcile then repairs it). After every sync the kernel must hold exactly what
// a fresh backend programs for the same input into an empty kernel, and
// each scenario's flow table must hold after its whole input. "changes"
// passes synth.Builder's change lists, as the agent does; "full" passes
// none.
func TestConvergence(t *testing.T) {
	all := scenario.All(t)
	for _, seed := range convergenceSeeds {
		for _, mode := range []string{"changes", "full"} {
			t.Run(fmt.Sprintf("seed-%d/%s", seed, mode), func(t *testing.T) {
				replay(t, all, seed, mode == "changes")
			})
		}
	}
}

// syncStep is one input the replay applies.
type syncStep struct {
	s     *scenario.Scenario
	in    synth.Input
	what  string
	whole bool // in is the scenario's whole input: its flow table applies
}

func replay(t *testing.T, all []*scenario.Scenario, seed uint64, withChanges bool) {
	rng := rand.New(rand.NewPCG(seed, 0))
	b, k := newFakeBackend(t)
	var builder synth.Builder
	order := slices.Clone(all)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	n, lists, tampered := 0, 0, 0
	for _, s := range order {
		for _, st := range scenarioSteps(rng, s) {
			n++
			res := builder.Build(st.in, s.Config)
			changed := res.Changed
			if !withChanges {
				changed = nil
			}
			if changed != nil {
				lists++
			}
			what := ""
			if n > 1 && rng.IntN(4) == 0 {
				what = tamper(t, k, rng)
				b.Reconcile()
				tampered++
			}
			program(t, b, res.Rulesets(), changed)
			where := fmt.Sprintf("seed %d step %d (%s: %s, change list %v%s)", seed, n, s.Name, st.what, changed != nil, what)
			if !sameAsFresh(t, k, res, where) {
				return
			}
			if st.whole {
				checkFlows(t, k, s, res, where)
			}
		}
	}
	t.Logf("seed %d: %d syncs over %d scenarios, %d with a change list, %d after another program changed the table",
		seed, n, len(order), lists, tampered)
	if withChanges && lists == 0 {
		t.Errorf("no sync had a change list: the incremental path was not exercised")
	}
}

// tamper changes svcnat's IPv4 table behind the backend's back, as
// another program (or an administrator) might: the next sync, after
// Reconcile, must repair it.
func tamper(t *testing.T, k *nfnlfake.Kernel, rng *rand.Rand) string {
	t.Helper()
	batch, err := nfnl.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	e, tbl := newNLEmitter(batch), familyTable(synth.IPv4)
	var what string
	switch rng.IntN(3) {
	case 0:
		e.flushChain(tbl, &chain{name: chainServices})
		what = "chain " + chainServices + " flushed"
	case 1:
		e.flushSet(tbl, &set{name: mapServiceIPs, kind: kindAddrProtoPort})
		what = "map " + mapServiceIPs + " flushed"
	default:
		e.addTable(tbl)
		e.delTable(tbl)
		what = "table deleted"
	}
	if err := k.Send(batch); err != nil {
		t.Fatalf("tamper (%s): %v", what, err)
	}
	return ", after " + what + " by another program"
}

// scenarioSteps are the syncs one scenario contributes.
func scenarioSteps(rng *rand.Rand, s *scenario.Scenario) []syncStep {
	whole := s.Input
	steps := []syncStep{{s: s, in: whole, what: "whole input", whole: true}}
	if len(whole.Services) == 0 {
		return steps
	}
	svc := whole.Services[rng.IntN(len(whole.Services))]
	noEndpoints := whole
	noEndpoints.EndpointSlices = slices.DeleteFunc(slices.Clone(whole.EndpointSlices), func(es *discoveryv1.EndpointSlice) bool {
		return es.Namespace == svc.Namespace && es.Labels[discoveryv1.LabelServiceName] == svc.Name
	})
	noService := whole
	noService.Services = slices.DeleteFunc(slices.Clone(whole.Services), func(x *corev1.Service) bool { return x == svc })
	name := svc.Namespace + "/" + svc.Name
	return append(steps,
		syncStep{s: s, in: noEndpoints, what: "without the endpoints of " + name},
		syncStep{s: s, in: noService, what: "without Service " + name},
		syncStep{s: s, in: whole, what: "whole input again", whole: true})
}

// sameAsFresh compares the kernel's tables with what a fresh backend
// programs for res into an empty kernel.
func sameAsFresh(t *testing.T, k *nfnlfake.Kernel, res synth.Result, where string) bool {
	t.Helper()
	fresh, fk := newFakeBackend(t)
	program(t, fresh, res.Rulesets(), nil)
	if got, want := k.Listing(), fk.Listing(); got != want {
		t.Errorf("%s: the kernel differs from a fresh build (-fresh +kernel):\n%s", where, cmp.Diff(want, got))
		return false
	}
	return true
}

// checkFlows traces a scenario's flow table through the kernel.
func checkFlows(t *testing.T, k *nfnlfake.Kernel, s *scenario.Scenario, res synth.Result, where string) {
	t.Helper()
	for _, f := range s.Flows {
		if scenario.CheckTrace(f, res.Ruleset(synth.FamilyOf(f.Dst.Addr())).Trace(f.Packet())) != nil {
			continue // the scenario's own problem, reported elsewhere
		}
		tr, _, err := traceFlow(k, res, f)
		if err == nil {
			err = scenario.CheckTrace(f, tr)
		}
		if err != nil {
			t.Errorf("%s: flows.txt:%d %s: %v", where, f.Line, f, err)
		}
	}
}
