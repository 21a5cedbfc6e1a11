package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"

	"github.com/svcnat/svcnat/synth"
)

// Fixed chains. Every name starts with chainPrefix.
const (
	chainServices  = "SVCNAT-SERVICES"
	chainNodePorts = "SVCNAT-NODEPORTS"
	chainPostrout  = "SVCNAT-POSTROUTING"
	chainMarkMasq  = "SVCNAT-MARK-MASQ"
	chainMarkDrop  = "SVCNAT-MARK-DROP"
	chainMarkRej   = "SVCNAT-MARK-REJECT"
	chainMasqOut   = "SVCNAT-MASQ-OUTSIDE"
	chainFilter    = "SVCNAT-FILTER"
)

// Mark bits, kube-proxy's (bits 14 and 15). Reject is both bits so that
// svcnat never claims a bit kube-proxy does not.
const (
	markMask   = "0xc000"
	markMasq   = "0x4000"
	markDrop   = "0x8000"
	markReject = "0xc000"
)

// idPattern is what synth produces for ServicePort.ID and EndpointID;
// anything else could break a chain name, so it is refused.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)

func checkID(what, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%s %q is not 1-16 letters or digits", what, id)
	}
	return nil
}

func svcChain(sp *synth.ServicePort) string { return "SVCNAT-SVC-" + sp.ID }
func svlChain(sp *synth.ServicePort) string { return "SVCNAT-SVL-" + sp.ID }
func extChain(sp *synth.ServicePort) string { return "SVCNAT-EXT-" + sp.ID }
func fwChain(sp *synth.ServicePort) string  { return "SVCNAT-FW-" + sp.ID }

func sepChain(sp *synth.ServicePort, ep synth.Endpoint) string {
	return "SVCNAT-SEP-" + sp.EndpointID(ep)
}

// treeChain names a dispatch-trie node after what it matches, so the name
// is stable while the node's prefix is.
func treeChain(kind, match string) string {
	return "SVCNAT-" + kind + "-" + shortHash(kind+"|"+match)
}

// shortHash is 16 base32 characters of SHA-256, like synth's IDs.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}
