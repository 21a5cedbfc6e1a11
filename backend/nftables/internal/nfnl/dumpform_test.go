package nfnl

import (
	"testing"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestDumpedRegister(t *testing.T) {
	for in, want := range map[uint32]uint32{unix.NFT_REG32_00: unix.NFT_REG_1, unix.NFT_REG32_04: unix.NFT_REG_2,
		unix.NFT_REG32_01: unix.NFT_REG32_01, unix.NFT_REG_3: unix.NFT_REG_3, unix.NFT_REG_VERDICT: unix.NFT_REG_VERDICT} {
		if got := DumpedRegister(in); got != want {
			t.Errorf("DumpedRegister(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestDumpForm(t *testing.T) {
	lookup := DumpForm(&expr.Lookup{SourceRegister: unix.NFT_REG32_04, SetName: "s", SetID: 7}).(*expr.Lookup)
	if lookup.SourceRegister != unix.NFT_REG_2 || lookup.SetID != 0 || lookup.SetName != "s" {
		t.Errorf("lookup dumped as %+v, want register 2, no set ID, the name kept", lookup)
	}
	nat := DumpForm(&expr.NAT{RegAddrMin: unix.NFT_REG32_00, RegProtoMin: unix.NFT_REG32_01}).(*expr.NAT)
	if nat.RegAddrMin != unix.NFT_REG_1 || nat.RegAddrMax != unix.NFT_REG_1 ||
		nat.RegProtoMin != unix.NFT_REG32_01 || nat.RegProtoMax != unix.NFT_REG32_01 {
		t.Errorf("NAT dumped as %+v, want the maximum registers equal to the minimum ones", nat)
	}
	in := &expr.Cmp{Register: unix.NFT_REG32_08}
	if out := DumpForm(in).(*expr.Cmp); out == in || out.Register != unix.NFT_REG_3 || in.Register != unix.NFT_REG32_08 {
		t.Errorf("cmp dumped as %+v (input now %+v), want a copy with register 3", out, in)
	}
}
