package nftables

import (
	"strconv"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

const (
	// TableName is the name of svcnat's table in both the ip and ip6 families.
	TableName = "svcnat"
	// MasqMark is the packet mark bit svcnat sets to ask for masquerade in
	// postrouting. It differs from kube-proxy's 0x4000 so both can coexist
	// while migrating.
	MasqMark uint32 = 0x00040000

	maxChainName = 96  // readable; the kernel allows 256
	maxComment   = 120 // nft limits comments to 128 bytes
)

// Names of the fixed sets, maps and chains of the table.
const (
	setClusterIPs     = "cluster-ips"
	setServiceCIDRs   = "service-cidrs"
	setClusterCIDRs   = "cluster-cidrs"
	setNodePortIPs    = "nodeport-ips"
	mapServiceIPs     = "service-ips"
	mapNodePorts      = "service-nodeports"
	mapNoEndpoints    = "no-endpoint-services"
	mapNoEndpointNPs  = "no-endpoint-nodeports"
	mapFirewallIPs    = "firewall-ips"
	mapEndpoints      = "endpoints"
	mapNPEndpoints    = "nodeport-endpoints"
	mapLocalEps       = "local-endpoints"
	mapLocalNPEps     = "local-nodeport-endpoints"
	setHairpin        = "hairpin"
	chainServices     = "services"
	chainMasquerading = "masquerading"
	chainFirewall     = "firewall-check"
	chainChecks       = "service-checks"
	chainReject       = "reject-chain"
)

// readable keeps the characters nft accepts in an unquoted identifier and
// replaces everything else, so no Service name can break the script. It is
// applied piecewise (per name part), so it must stay a per-rune mapping.
func readable(s string) string {
	if !strings.ContainsFunc(s, notIdentRune) {
		return s // the common case: no copy
	}
	var b strings.Builder
	for _, r := range s {
		if notIdentRune(r) {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func notIdentRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
		r == '-', r == '_', r == '.', r == '/':
		return false
	}
	return true
}

// portSuffix is "ns/name/proto/port" where port is the port's name or, for
// unnamed ports, its number.
func portSuffix(sp *synth.ServicePort) string {
	port := sp.Name.Port
	if port == "" {
		port = strconv.Itoa(int(sp.Port))
	}
	return sp.Name.Namespace + "/" + sp.Name.Name + "/" + string(sp.Name.Protocol) + "/" + port
}

// chainName builds "<kind>-<id>-<suffix>", truncated; suffix has already
// been through readable. The id keeps names unique; the suffix is only for
// humans.
func chainName(kind, id, suffix string) string {
	n := kind + "-" + id + "-" + suffix
	if len(n) > maxChainName {
		n = n[:maxChainName]
	}
	return n
}

func affinitySet(sp *synth.ServicePort, ep synth.Endpoint) string {
	return "aff-" + sp.EndpointID(ep)
}

// comment makes s safe inside nft's double quotes (which know no escapes)
// and short enough for the kernel's comment limit.
func comment(s string) string {
	if len(s) <= maxComment && !strings.ContainsFunc(s, badCommentRune) {
		return s // the common case: no copy
	}
	var b strings.Builder
	for _, r := range s {
		if badCommentRune(r) {
			r = '_'
		}
		b.WriteRune(r)
	}
	c := b.String()
	if len(c) > maxComment {
		c = c[:maxComment]
	}
	return c
}

func badCommentRune(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }
