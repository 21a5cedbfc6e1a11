// Package iptables is svcnat's iptables backend: it renders synth.Rulesets
// as iptables-restore input and programs them into one network namespace
// with `iptables-restore --noflush` (one call per table, so each table
// changes atomically), using either iptables-nft or iptables-legacy.
// With iptables-nft a large change (thousands of chains) is split into
// several restores, because one iptables-nft-restore is quadratic in the
// chains it names; new chains are built unreachable and one restore
// switches to them, so packets still see one atomic change (chunk.go).
//
// svcnat owns only chains whose names start with "SVCNAT-" plus a handful
// of jump rules in built-in chains (JumpRules). A --noflush restore cannot
// add a rule to a built-in chain idempotently, so the jump rules are read
// back with iptables-save like the chains, and only missing ones are
// inserted (-I CHAIN 1) in the same restore, which keeps hooking in
// atomic and costs no extra iptables call (with iptables-legacy each call
// rewrites the whole table).
//
// # Layout
//
// Every decision lives in the nat table, where svcnat can see both the
// source and the original destination:
//
//	PREROUTING, OUTPUT -> SVCNAT-SERVICES   destination-prefix tree (SVCNAT-D-*)
//	                       leaves: -d IP -p P --dport N -> SVCNAT-SVC-/EXT-/FW-*
//	                       node addresses -> SVCNAT-NODEPORTS  port-range tree (SVCNAT-P-*)
//	SVCNAT-SVC-<id>  load-balance over the cluster endpoints (statistic, recent)
//	SVCNAT-SVL-<id>  load-balance over the node-local endpoints
//	SVCNAT-EXT-<id>  external entry points: masquerade and traffic policy
//	SVCNAT-FW-<id>   loadBalancerSourceRanges
//	SVCNAT-SEP-<id>  one endpoint: hairpin masquerade, affinity, DNAT
//	POSTROUTING    -> SVCNAT-POSTROUTING    MASQUERADE what carries the masq mark
//
// REJECT is not allowed in the nat table, so nat decides and the filter
// table enforces: a packet to be rejected or dropped gets a mark
// (SVCNAT-MARK-REJECT / SVCNAT-MARK-DROP, which then ACCEPT to stop NAT) and
// SVCNAT-FILTER, hooked into INPUT, FORWARD and OUTPUT, drops or rejects
// marked packets. The filter table therefore holds two rules, not one per
// Service, and needs no tree of its own.
//
// Marks use kube-proxy's well-known bits only (mask 0xc000):
// 0x4000 masquerade, 0x8000 drop, 0xc000 reject.
//
// # Dispatch cost
//
// kube-proxy matches every new connection against a linear list of all
// Services. svcnat splits the sorted destination addresses into a trie of
// chains keyed on address prefixes (4 bits, fan-out at most 16, per level,
// with path compression), and NodePorts likewise on port ranges, so a packet
// meets O(16 · log16 n) rules.
//
// # Canonical text
//
// Rules are rendered exactly as iptables-save prints them (both flavours
// print the same text), so the rules read back from the kernel compare
// byte for byte with the rendered ones: a full Apply rewrites only the
// chains that really differ.
package iptables
