package nfnl

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ElemMsg writes one NEWSETELEM or DELSETELEM message straight into a
// batch's buffer: the bytes google/nftables' SetAddElements and
// SetDeleteElements queue for the same elements
// (TestElemMsgIsGoogleNftablesEncoding), without the objects it builds
// for every element and attribute on the way. A full sync of 10k
// Services sends 240k elements; their encoding was a third of the
// commit's CPU in user space.
//
// Interval sets (element flags) and elements with timeouts are not
// written this way; they go through google/nftables.
type ElemMsg struct {
	b     *Batch
	start int // offset of the message's netlink header in b.buf
	list  int // offset of its NFTA_SET_ELEM_LIST_ELEMENTS attribute
	n     int // elements written
}

// BeginElems starts a message that adds (or, with del, deletes) elements
// of set (whose NFTA_SET_ID is setID, 0 for a set not declared in this
// batch) in table of family fam. Call Add for each element, then End,
// before anything else is queued in the batch.
func (b *Batch) BeginElems(del bool, fam Family, table, set string, setID uint32) *ElemMsg {
	b.drain() // keep the order of what google/nftables holds
	typ := netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM)
	if del {
		typ = netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_DELSETELEM)
	}
	m := &ElemMsg{b: b, start: b.beginMessage(typ, netlink.Request|netlink.Create)}
	b.buf = append(b.buf, byte(fam), unix.NFNETLINK_V0, 0, 0)
	m.attrString(unix.NFTA_SET_NAME, set)
	m.attrUint32(unix.NFTA_LOOKUP_SET_ID, setID)
	m.attrString(unix.NFTA_SET_TABLE, table)
	m.list = m.open(unix.NFTA_SET_ELEM_LIST_ELEMENTS)
	return m
}

// Add writes one element: its key, and for a map its value (a value
// map's data, or a verdict map's verdict), and its comment ("" for none).
func (m *ElemMsg) Add(key, data []byte, verdict *expr.Verdict, comment string) {
	m.n++
	elem := m.open(uint16(m.n))
	k := m.open(unix.NFTA_SET_ELEM_KEY)
	m.attr(unix.NFTA_DATA_VALUE, key)
	m.close(k)
	switch {
	case verdict != nil:
		outer := m.open(unix.NFTA_SET_ELEM_DATA)
		inner := m.open(unix.NFTA_DATA_VERDICT)
		m.attrUint32(unix.NFTA_VERDICT_CODE, uint32(verdict.Kind))
		if verdict.Chain != "" {
			m.attrString(unix.NFTA_VERDICT_CHAIN, verdict.Chain)
		}
		m.close(inner)
		m.close(outer)
	case len(data) > 0:
		d := m.open(unix.NFTA_SET_ELEM_DATA)
		m.attr(unix.NFTA_DATA_VALUE, data)
		m.close(d)
	}
	if comment != "" {
		// userdata.AppendString's TLV: type, length (one byte, as
		// libnftnl's), the string and its NUL.
		m.b.buf = appendAttrHeader(m.b.buf, unix.NFTA_SET_ELEM_USERDATA, 2+len(comment)+1)
		m.b.buf = append(m.b.buf, byte(userdata.NFTNL_UDATA_SET_ELEM_COMMENT), byte(len(comment)+1))
		m.b.buf = append(append(m.b.buf, comment...), 0)
		m.b.pad()
	}
	m.close(elem)
}

// End finishes the message.
func (m *ElemMsg) End() {
	m.close(m.list)
	m.b.endMessage(m.start)
}

// attr appends a leaf attribute.
func (m *ElemMsg) attr(typ uint16, data []byte) {
	m.b.buf = appendAttrHeader(m.b.buf, typ, len(data))
	m.b.buf = append(m.b.buf, data...)
	m.b.pad()
}

// attrString appends a leaf attribute holding s NUL-terminated.
func (m *ElemMsg) attrString(typ uint16, s string) {
	m.b.buf = appendAttrHeader(m.b.buf, typ, len(s)+1)
	m.b.buf = append(append(m.b.buf, s...), 0)
	m.b.pad()
}

// attrUint32 appends a leaf attribute holding v in network byte order.
func (m *ElemMsg) attrUint32(typ uint16, v uint32) {
	m.b.buf = appendAttrHeader(m.b.buf, typ, 4)
	m.b.buf = binary.BigEndian.AppendUint32(m.b.buf, v)
}

// open starts a nested attribute; close sets its length.
func (m *ElemMsg) open(typ uint16) int {
	off := len(m.b.buf)
	m.b.buf = appendAttrHeader(m.b.buf, typ|unix.NLA_F_NESTED, 0)
	return off
}

func (m *ElemMsg) close(off int) {
	n := len(m.b.buf) - off
	if n > math.MaxUint16 && m.b.err == nil {
		m.b.err = fmt.Errorf("encode nftables batch: %d elements of %d bytes exceed a netlink attribute", m.n, n)
	}
	binary.NativeEndian.PutUint16(m.b.buf[off:], uint16(n))
}

func appendAttrHeader(buf []byte, typ uint16, n int) []byte {
	buf = binary.NativeEndian.AppendUint16(buf, uint16(4+n))
	return binary.NativeEndian.AppendUint16(buf, typ)
}
