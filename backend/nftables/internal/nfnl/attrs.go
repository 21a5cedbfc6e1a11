package nfnl

import (
	"encoding/binary"

	"github.com/mdlayher/netlink"
)

// TypeMask clears the flags (nested, byte order) of an attribute type.
const TypeMask = 0x3fff

// Attrs calls fn for each netlink attribute in b (type without flags).
// It does not allocate: a dump of 300k rules goes through it millions of times.
func Attrs(b []byte, fn func(typ uint16, data []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&TypeMask, b[4:l])
		b = b[min(Align(l), len(b)):]
	}
}

// AttrString is a string attribute's value, NUL stripped.
func AttrString(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	return string(b)
}

func attrString(b []byte) string { return AttrString(b) }

func be32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func nameAttr(typ uint16, name string) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: []byte(name + "\x00")}
}
