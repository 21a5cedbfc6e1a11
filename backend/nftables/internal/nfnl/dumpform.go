package nfnl

import (
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// DumpForm returns e as the kernel dumps it back: registers are kept in
// 32-bit units, so a 32-bit register that starts a 128-bit one comes back
// as that register (NFT_REG32_04 as NFT_REG_2); a NAT without maximum
// registers gets the minimum ones; set IDs (which only name a set within
// one batch) are not dumped. The backend compares its wanted rules with
// the kernel's in this form, and the fake kernel dumps its rules in it, so
// both follow the one description, which the fake's read-back test checks
// against the real kernel. Expressions svcnat does not use are returned
// as they are.
func DumpForm(e expr.Any) expr.Any {
	switch x := e.(type) {
	case *expr.Meta:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	case *expr.Payload:
		c := *x
		c.DestRegister, c.SourceRegister = DumpedRegister(c.DestRegister), DumpedRegister(c.SourceRegister)
		return &c
	case *expr.Lookup:
		c := *x
		c.SourceRegister, c.DestRegister, c.SetID = DumpedRegister(c.SourceRegister), DumpedRegister(c.DestRegister), 0
		return &c
	case *expr.Bitwise:
		c := *x
		c.SourceRegister, c.DestRegister = DumpedRegister(c.SourceRegister), DumpedRegister(c.DestRegister)
		return &c
	case *expr.Dynset:
		c := *x
		c.SrcRegKey, c.SrcRegData, c.SetID = DumpedRegister(c.SrcRegKey), DumpedRegister(c.SrcRegData), 0
		return &c
	case *expr.NAT:
		return natDumpForm(*x)
	}
	return oneRegisterDumpForm(e)
}

// oneRegisterDumpForm is DumpForm for the expressions with one register.
func oneRegisterDumpForm(e expr.Any) expr.Any {
	switch x := e.(type) {
	case *expr.Cmp:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	case *expr.Immediate:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	case *expr.Numgen:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	case *expr.Ct:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	case *expr.Fib:
		c := *x
		c.Register = DumpedRegister(c.Register)
		return &c
	}
	return e
}

func natDumpForm(c expr.NAT) *expr.NAT {
	c.RegAddrMin, c.RegAddrMax = DumpedRegister(c.RegAddrMin), DumpedRegister(c.RegAddrMax)
	c.RegProtoMin, c.RegProtoMax = DumpedRegister(c.RegProtoMin), DumpedRegister(c.RegProtoMax)
	if c.RegAddrMin != 0 && c.RegAddrMax == 0 {
		c.RegAddrMax = c.RegAddrMin
	}
	if c.RegProtoMin != 0 && c.RegProtoMax == 0 {
		c.RegProtoMax = c.RegProtoMin
	}
	return &c
}

// DumpedRegister is the kernel's nft_parse_register followed by
// nft_dump_register: a 32-bit register that starts a 128-bit one is
// dumped as the 128-bit register.
func DumpedRegister(r uint32) uint32 {
	if r < unix.NFT_REG32_00 || r > unix.NFT_REG32_15 {
		return r
	}
	if unit := r - unix.NFT_REG32_00 + 4; unit%4 == 0 {
		return unit / 4
	}
	return r
}
