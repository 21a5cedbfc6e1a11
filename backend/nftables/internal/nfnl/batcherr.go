package nfnl

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// batchError describes a kernel error: errno, the extended ack message if
// any, and which message of the batch failed and what it touched.
func batchError(payload []byte, flags uint16, index int, batch *Batch) error {
	errno := syscall.Errno(-int32(binary.NativeEndian.Uint32(payload)))
	msg := ""
	if flags&unix.NLM_F_ACK_TLVS != 0 && len(payload) >= 4+unix.NLMSG_HDRLEN {
		ad, err := netlink.NewAttributeDecoder(payload[4+unix.NLMSG_HDRLEN:])
		for err == nil && ad.Next() {
			if ad.Type() == unix.NLMSGERR_ATTR_MSG {
				msg = ": " + ad.String()
			}
		}
	}
	if what := describeMessage(batch, index); what != "" {
		msg = " (" + what + ")" + msg
	}
	return fmt.Errorf("batch message %d%s: %w", index, msg, errno)
}

// describeMessage says which object message i of the batch touches
// (0 is the begin marker), e.g. `add rule to chain svc-… ("default/web:http/tcp")`,
// so a failed batch names the element or rule the kernel refused.
func describeMessage(batch *Batch, i int) string {
	msg, ok := batch.nth(i)
	if !ok {
		return ""
	}
	return Describe(msg)
}

// Describe says which object one message (header included) touches, in
// the words of a refused batch's error; an in-memory kernel uses it to
// name the messages it refuses the same way.
func Describe(msg []byte) string {
	if len(msg) < unix.NLMSG_HDRLEN+4 {
		return ""
	}
	typ := binary.NativeEndian.Uint16(msg[4:]) & 0xff // low byte: the nf_tables message type
	attrs := msg[unix.NLMSG_HDRLEN+4:]                // after the nfgenmsg header
	switch typ {
	case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE:
		return verb(typ) + " table " + attrNamed(attrs, unix.NFTA_TABLE_NAME)
	case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN:
		return verb(typ) + " chain " + attrNamed(attrs, unix.NFTA_CHAIN_NAME)
	case unix.NFT_MSG_NEWRULE:
		s := "add rule to chain " + attrNamed(attrs, unix.NFTA_RULE_CHAIN)
		if c, ok := userdata.GetString(attrBytes(attrs, unix.NFTA_RULE_USERDATA), userdata.TypeComment); ok {
			s += fmt.Sprintf(" (%q)", c)
		}
		return s
	case unix.NFT_MSG_DELRULE:
		return "flush chain " + attrNamed(attrs, unix.NFTA_RULE_CHAIN)
	case unix.NFT_MSG_NEWSET, unix.NFT_MSG_DELSET:
		return verb(typ) + " set " + attrNamed(attrs, unix.NFTA_SET_NAME)
	case unix.NFT_MSG_NEWSETELEM, unix.NFT_MSG_DELSETELEM:
		return verb(typ) + " elements of set " + attrNamed(attrs, unix.NFTA_SET_ELEM_LIST_SET)
	}
	return fmt.Sprintf("message type %d", typ)
}

func verb(typ uint16) string {
	switch typ {
	case unix.NFT_MSG_DELTABLE, unix.NFT_MSG_DELCHAIN, unix.NFT_MSG_DELSET, unix.NFT_MSG_DELSETELEM:
		return "delete"
	}
	return "add"
}

func attrBytes(b []byte, typ uint16) []byte {
	ad, err := netlink.NewAttributeDecoder(b)
	for err == nil && ad.Next() {
		if ad.Type() == typ {
			return ad.Bytes()
		}
	}
	return nil
}

// attrNamed is the string attribute typ of b (NUL stripped).
func attrNamed(b []byte, typ uint16) string { return attrString(attrBytes(b, typ)) }
