package iptables

import (
	"fmt"

	"github.com/svcnat/svcnat/synth"
)

// Mode selects the iptables flavour.
type Mode string

const (
	// ModeAuto picks the flavour that already holds rules in the namespace
	// (like kube-proxy), nft when neither or both do equally.
	ModeAuto   Mode = "auto"
	ModeNFT    Mode = "nft"
	ModeLegacy Mode = "legacy"
)

// flavour is a resolved Mode: "nft" or "legacy".
type flavour string

// sbin is where Debian installs the xtables binaries.
const sbin = "/usr/sbin/"

// binary returns e.g. /usr/sbin/ip6tables-nft-restore; kind is "" for the
// plain command, "restore" or "save".
func (f flavour) binary(fam synth.Family, kind string) string {
	b := sbin + cmdName(fam) + "-" + string(f)
	if kind != "" {
		b += "-" + kind
	}
	return b
}

func parseMode(m Mode) (Mode, error) {
	switch m {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeNFT, ModeLegacy:
		return m, nil
	}
	return "", fmt.Errorf("unknown iptables mode %q (want auto, nft or legacy)", m)
}
