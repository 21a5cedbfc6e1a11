package nftables

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/synth"
)

// The endpoint maps' keys end in a random slot number, a plain 32-bit
// integer. nft can name such a key only with `typeof`, and it lists a set
// as `typeof` only when the set's user data describes the expressions
// (libnftnl's NFTNL_UDATA_SET_KEY_TYPEOF and _DATA_TYPEOF). Without it
// `nft list` would print a type it cannot read back. google/nftables
// writes its own user data, so these sets are declared with a message of
// our own carrying the bytes nft 1.0.6 writes for the same declaration
// (read back from a kernel after `nft -f` of typeofText's line; the
// netlink-vs-nft cross-check tests that both listings are equal).
var typeofUserdata = map[synth.Family]map[setKind]string{
	synth.IPv4: {
		kindAddrSlot: "000400000000010400000000036000040d00000001580014000407000000010c00040c00000001040c000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000060400000000",
		kindPortSlot: "000400000000010400000000034a00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000060400000000",
	},
	synth.IPv6: {
		kindAddrSlot: "000400000000010400000000036000040d00000001580014000407000000010c00040d000000010409000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000060400000000",
		kindPortSlot: "000400000000010400000000034a00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000060400000000",
	},
}

// endpointMapTypes returns the key and value types of an endpoint map.
func endpointMapTypes(f synth.Family, kind setKind) (key, value nftables.SetDatatype) {
	parts := []nftables.SetDatatype{nftables.TypeInetProto, nftables.TypeInetService, nftables.TypeInteger}
	if kind == kindAddrSlot {
		parts = append([]nftables.SetDatatype{nlAddrType(f)}, parts...)
	}
	return nftables.MustConcatSetType(parts...), nftables.MustConcatSetType(nlAddrType(f), nftables.TypeInetService)
}

// addEndpointMap queues the NEWSET message of an endpoint map, after
// everything google/nftables queued before it.
func (w *nlEmitter) addEndpointMap(t *table, s *set) {
	udata, err := hex.DecodeString(typeofUserdata[t.family][s.kind])
	if err != nil {
		w.fail(err)
		return
	}
	key, value := endpointMapTypes(t.family, s.kind)
	w.setID++
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian // nfnetlink integers are big-endian
	ae.String(unix.NFTA_SET_TABLE, TableName)
	ae.String(unix.NFTA_SET_NAME, s.name)
	ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_MAP)
	ae.Uint32(unix.NFTA_SET_KEY_TYPE, key.GetNFTMagic())
	ae.Uint32(unix.NFTA_SET_KEY_LEN, key.Bytes)
	ae.Uint32(unix.NFTA_SET_DATA_TYPE, value.GetNFTMagic())
	ae.Uint32(unix.NFTA_SET_DATA_LEN, value.Bytes)
	ae.Uint32(unix.NFTA_SET_ID, w.setID)
	ae.Bytes(unix.NFTA_SET_USERDATA, udata)
	b, err := ae.Encode()
	if err != nil {
		w.fail(err)
		return
	}
	fam := byte(unix.NFPROTO_IPV4)
	if t.family == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	typ := netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSET)
	w.batch.Append(typ, netlink.Request|netlink.Create, append([]byte{fam, unix.NFNETLINK_V0, 0, 0}, b...))
}
