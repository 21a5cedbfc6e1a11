package iptables

import "strings"

// JumpRule is a rule svcnat inserts at the top of a built-in chain to hook
// its own chains in.
type JumpRule struct {
	Table string
	Chain string
	// Spec is the rule, one argument per element (go-iptables form).
	Spec []string
}

func (j JumpRule) String() string {
	return "-t " + j.Table + " -I " + j.Chain + " " + quoteArgs(j.Spec)
}

// JumpRules are the rules in built-in chains that lead into svcnat's
// chains; they are the same for both families. A --noflush restore
// appends a copy on every sync, so they are inserted only when
// iptables-save shows them missing (see tableDiff.script).
func JumpRules() []JumpRule {
	portals := jumpSpec("svcnat service portals", chainServices)
	filter := jumpSpec("svcnat reject and drop", chainFilter)
	return []JumpRule{
		{"nat", "PREROUTING", portals},
		{"nat", "OUTPUT", portals},
		{"nat", "POSTROUTING", jumpSpec("svcnat masquerade", chainPostrout)},
		{"filter", "INPUT", filter},
		{"filter", "FORWARD", filter},
		{"filter", "OUTPUT", filter},
	}
}

func jumpSpec(text, target string) []string {
	return []string{"-m", "comment", "--comment", text, "-j", target}
}

func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"") {
			a = `"` + a + `"`
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// saveLine is the rule as iptables-save prints it: "-A CHAIN ARGS".
func (j JumpRule) saveLine() string {
	return "-A " + j.Chain + " " + quoteArgs(j.Spec)
}

// jumpLines are the save lines of the jump rules that live in one table.
func jumpLines(table string) []string {
	var out []string
	for _, j := range JumpRules() {
		if j.Table == table {
			out = append(out, j.saveLine())
		}
	}
	return out
}
