package kubeproxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestReferenceCoversEveryField walks v1alpha1.KubeProxyConfiguration by
// reflection: every JSON field path has exactly one entry, and every field
// entry is a real path.
func TestReferenceCoversEveryField(t *testing.T) {
	paths := ConfigPaths()
	if len(paths) < 60 {
		t.Fatalf("only %d field paths found by reflection: the walk is broken", len(paths))
	}
	entries := map[string]int{}
	for _, e := range Reference {
		if e.Kind == KindField {
			entries[e.Name]++
		}
	}
	for _, p := range paths {
		if entries[p] != 1 {
			t.Errorf("field %s has %d entries in Reference, want 1", p, entries[p])
		}
	}
	for name := range entries {
		if !slices.Contains(paths, name) {
			t.Errorf("Reference has field %s, which v1alpha1.KubeProxyConfiguration does not have", name)
		}
	}
}

// TestReferenceMatchesRegisteredFlags: AddFlags registers exactly the flag
// entries that are not refused (help is cobra's), and each flag's Field is
// a real path.
func TestReferenceMatchesRegisteredFlags(t *testing.T) {
	fs := pflag.NewFlagSet("kube-proxy", pflag.ContinueOnError)
	NewOptions().AddFlags(fs)
	registered := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { registered[f.Name] = true })
	paths := ConfigPaths()
	seen := map[string]bool{}
	for _, e := range Reference {
		if e.Kind != KindFlag {
			continue
		}
		if seen[e.Name] {
			t.Errorf("flag %s listed twice", e.Name)
		}
		seen[e.Name] = true
		if e.Field != "" && !slices.Contains(paths, e.Field) {
			t.Errorf("flag %s: field %s does not exist", e.Name, e.Field)
		}
		switch {
		case e.Name == "help":
		case e.Disposition == Refused && registered[e.Name]:
			t.Errorf("refused flag --%s is registered", e.Name)
		case e.Disposition != Refused && !registered[e.Name]:
			t.Errorf("flag --%s is in Reference but AddFlags does not register it", e.Name)
		}
	}
	for name := range registered {
		if !seen[name] {
			t.Errorf("AddFlags registers --%s, which Reference does not classify", name)
		}
	}
}

// TestSvcnatFlagsDoNotClash: svcnat's flags coexist with kube-proxy's.
func TestSvcnatFlagsDoNotClash(t *testing.T) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o := NewOptions()
	o.AddFlags(fs)
	o.AddSvcnatFlags(fs) // pflag panics on a duplicate name
	for _, name := range []string{"backend", "sync-period", "min-sync-period", "node-name", "node-ip", "service-cidr", "manifests", "netns", "iptables-mode", "external-ip-allow", "health-timeout"} {
		if fs.Lookup(name) == nil {
			t.Errorf("--%s is not registered", name)
		}
	}
}

func TestReferenceNotes(t *testing.T) {
	for _, e := range Reference {
		if e.Disposition == Ignored && e.Kind == KindField && strings.TrimSpace(e.Note) == "" {
			t.Errorf("%s is ignored without a note: its warning would say nothing", e.Name)
		}
	}
}
