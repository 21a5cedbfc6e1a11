package main

import (
	"strings"
)

// diffReport is the schema of `svcnat diff -o json` (docs/CLI.md): what
// apply would send, one operation per nft command or iptables-restore line.
type diffReport struct {
	Backend string `json:"backend"`
	// Changes counts the operations of all families; 0: nothing to do.
	Changes int `json:"changes"`
	// Families holds ipv4 then ipv6, always both.
	Families []diffFamily `json:"families"`
}

type diffFamily struct {
	Family     string          `json:"family"`
	Operations []diffOperation `json:"operations"`
}

type diffOperation struct {
	// Table is "ip svcnat" or "ip6 svcnat" (nftables), "nat" or "filter"
	// (iptables).
	Table string `json:"table"`
	// Command is one nft command ("add element ip svcnat ...") or one
	// iptables-restore line (":CHAIN - [0:0]", "-A ...", "-D ...", "-I ...",
	// "-X CHAIN").
	Command string `json:"command"`
}

// parseDiff splits a backend's plan text into operations per family. The
// nftables text is one command per line with the family third ("add rule
// ip6 svcnat ..."); the iptables text is restore input per family and
// table, each part headed by "# <family> --noflush" and "*<table>".
func parseDiff(backendName string, text []byte) *diffReport {
	r := &diffReport{Backend: backendName, Families: []diffFamily{
		{Family: "ipv4", Operations: []diffOperation{}},
		{Family: "ipv6", Operations: []diffOperation{}},
	}}
	fam, table := 0, ""
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case line == "", line == "COMMIT":
			continue
		case strings.HasPrefix(line, "# "):
			if f, _, _ := strings.Cut(line[2:], " "); f == "ipv6" {
				fam = 1
			} else {
				fam = 0
			}
			continue
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			continue
		}
		if backendName == "nftables" {
			fam, table = nftFamily(line)
		}
		r.Families[fam].Operations = append(r.Families[fam].Operations, diffOperation{Table: table, Command: line})
		r.Changes++
	}
	return r
}

// nftFamily reads the family of an nft command: its third word.
func nftFamily(cmd string) (int, string) {
	f := strings.Fields(cmd)
	if len(f) > 3 && f[2] == "ip6" {
		return 1, "ip6 " + f[3]
	}
	if len(f) > 3 {
		return 0, f[2] + " " + f[3]
	}
	return 0, ""
}
