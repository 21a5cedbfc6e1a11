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
	chainServices     = "services"
	chainMasquerading = "masquerading"
	chainFirewall     = "firewall-check"
	chainChecks       = "service-checks"
	chainReject       = "reject-chain"
)

// readable keeps the characters nft accepts in an unquoted identifier and
// replaces everything else, so no Service name can break the script.
func readable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '_', r == '.', r == '/':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
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

// chainName builds "<kind>-<id>-<readable suffix>", truncated. The id keeps
// names unique; the suffix is only for humans.
func chainName(kind, id, suffix string) string {
	n := kind + "-" + id + "-" + readable(suffix)
	if len(n) > maxChainName {
		n = n[:maxChainName]
	}
	return n
}

func svcChain(sp *synth.ServicePort) string   { return chainName("svc", sp.ID, portSuffix(sp)) }
func extChain(sp *synth.ServicePort) string   { return chainName("ext", sp.ID, portSuffix(sp)) }
func fwChain(sp *synth.ServicePort) string    { return chainName("fw", sp.ID, portSuffix(sp)) }
func lbChain(sp *synth.ServicePort) string    { return chainName("lb", sp.ID, portSuffix(sp)) }
func localChain(sp *synth.ServicePort) string { return chainName("local", sp.ID, portSuffix(sp)) }

func epChain(sp *synth.ServicePort, ep synth.Endpoint) string {
	return chainName("ep", sp.EndpointID(ep), portSuffix(sp)+"/"+ep.AddrPort().String())
}

func affinitySet(sp *synth.ServicePort, ep synth.Endpoint) string {
	return "aff-" + sp.EndpointID(ep)
}

// comment makes s safe inside nft's double quotes (which know no escapes)
// and short enough for the kernel's comment limit.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
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
