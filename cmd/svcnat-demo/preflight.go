package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// requirement is a program the demo runs, and the Debian package that
// has it.
type requirement struct {
	tool, pkg, why string
}

// requirements lists what the demo runs for the backend: iproute2 builds
// the namespaces, curl is the client, and the backend's tools show (and,
// for iptables, program) the rules.
func requirements(backendName string) []requirement {
	reqs := []requirement{
		{"ip", "iproute2", "builds the virtual node out of network namespaces"},
		{"curl", "curl", "is the demo's client"},
	}
	if backendName == "iptables" {
		return append(reqs,
			requirement{"iptables-restore", "iptables", "programs the rules (--backend iptables)"},
			requirement{"iptables-save", "iptables", "shows the rules"})
	}
	return append(reqs, requirement{"nft", "nftables", "shows the rules"})
}

// preflight checks, before anything is created, that the demo can run:
// root, and every program it needs. The error says what to do.
func preflight(backendName string, euid int, lookPath func(string) (string, error)) error {
	var problems, pkgs []string
	if euid != 0 {
		problems = append(problems, "it needs root to create network namespaces: run it with sudo (sudo make demo)")
	}
	for _, r := range requirements(backendName) {
		if _, err := lookPath(r.tool); err != nil {
			problems = append(problems, fmt.Sprintf("%s (Debian package %s) is missing: it %s", r.tool, r.pkg, r.why))
			if !slices.Contains(pkgs, r.pkg) {
				pkgs = append(pkgs, r.pkg)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	msg := "the demo cannot start:\n  - " + strings.Join(problems, "\n  - ")
	if len(pkgs) > 0 {
		msg += "\ninstall what is missing with: apt-get install " + strings.Join(pkgs, " ")
	}
	return errors.New(msg)
}
