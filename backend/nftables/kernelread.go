package nftables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/synth"
)

// This file reads one svcnat table back from the kernel with plain
// nfnetlink requests on a socket of its own. google/nftables' readers are
// not used: they keep every rule decoded in memory, and its set decoder
// loses the data type of verdict maps. Here rules are compared with the
// wanted table while they stream in (kernelplan.go), so nothing of the
// size of the ruleset is held. Every answer carries the ruleset
// generation; a change between two requests makes the read fail (and the
// caller fall back to replacing the table) rather than mix two states.

// Kernel attribute numbers golang.org/x/sys/unix does not define.
const (
	nftaChainFlags      = 10 // NFTA_CHAIN_FLAGS
	nftChainBinding     = 1 << 2
	nftaSetExpr         = 17 // NFTA_SET_EXPR
	nftaSetExpressions  = 18 // NFTA_SET_EXPRESSIONS
	nftaSetElemExprs    = 10 // NFTA_SET_ELEM_EXPRESSIONS
	nftaSetElemObjref   = 8  // NFTA_SET_ELEM_OBJREF
	nftaSetElemKeyEnd   = 9  // NFTA_SET_ELEM_KEY_END
	nlaTypeMask         = 0x3fff
	kernelReadTimeout   = 60 * time.Second
	kernelReadBufferLen = 1 << 20
)

// errDumpInterrupted means the ruleset changed while it was being dumped:
// what was read is not one consistent state.
var errDumpInterrupted = errors.New("nftables dump interrupted by a concurrent change")

// kernelTable is what the kernel holds of one svcnat table, as far as the
// comparison needs it.
type kernelTable struct {
	flags  uint32
	chains []*kernelChain // in dump order
	sets   []*kernelSet
	chIdx  map[string]*kernelChain
	setIdx map[string]*kernelSet
}

// kernelChain is a chain's declaration and, once the rules were streamed
// through compareRule, whether its rules equal the wanted chain's.
type kernelChain struct {
	name     string
	hasHook  bool
	typ      string
	hooknum  uint32
	priority int32
	policy   int64 // -1: none
	flags    uint32

	want    *chain // nil: not wanted
	n       int    // rules seen so far
	differs bool   // some rule differs from the wanted one at its position
}

// kernelSet is a set's declaration and, for sets whose elements are
// compared, its elements as sent by the kernel.
type kernelSet struct {
	name                        string
	flags                       uint32
	keyType, keyLen             uint32
	dataType, dataLen           uint32
	timeoutMS                   uint64
	hasTimeout, hasExpr, hasObj bool
	elems                       []kernelElem
}

// kernelElem is one raw element.
type kernelElem struct {
	key     []byte
	flags   uint32
	verdict int32
	chain   string
	hasData bool
	data    []byte // a value map's value
	udata   []byte
	extra   bool // timeout, expiration, expressions, object or range end: never sent by svcnat
}

// kernelReader holds a NETLINK_NETFILTER socket in the target namespace.
type kernelReader struct {
	sock *netlink.Conn
	fam  uint8
	buf  []byte
	gen  int32 // ruleset generation of the first answer; -1 before it
}

// newKernelReader opens a dump socket in the namespace of netns (nil: the
// caller's).
func newKernelReader(netns *os.File, f synth.Family) (*kernelReader, error) {
	fd := 0
	if netns != nil {
		fd = int(netns.Fd())
	}
	sock, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: fd})
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	_ = sock.SetOption(netlink.ExtendedAcknowledge, true)
	if err := sock.SetReadDeadline(time.Now().Add(kernelReadTimeout)); err != nil {
		sock.Close()
		return nil, err
	}
	fam := uint8(unix.NFPROTO_IPV4)
	if f == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	return &kernelReader{sock: sock, fam: fam, buf: make([]byte, kernelReadBufferLen), gen: -1}, nil
}

func (r *kernelReader) close() error { return r.sock.Close() }

// request sends one nftables GET request and calls fn for every answer
// until the dump ends (or, without dump, until the single answer).
func (r *kernelReader) request(msgType int, dump bool, attrs []netlink.Attribute, fn func(data []byte) error) error {
	ad, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return err
	}
	flags := netlink.Request | netlink.Acknowledge
	if dump {
		flags |= netlink.Dump
	}
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msgType), Flags: flags},
		Data:   append([]byte{r.fam, unix.NFNETLINK_V0, 0, 0}, ad...),
	}
	sent, err := r.sock.Send(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return r.receive(sent.Header.Sequence, fn)
}

// receive reads answers to the request with sequence number seq until its
// ack, an error or the end of the dump. Each recvmsg is parsed at once, so
// a large dump never sits in memory as a whole.
func (r *kernelReader) receive(seq uint32, fn func(data []byte) error) error {
	raw, err := r.sock.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	for {
		var n int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), r.buf, unix.MSG_DONTWAIT)
			return rerr != unix.EAGAIN
		})
		if err := errors.Join(err, rerr); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		done, err := r.parse(r.buf[:n], seq, fn, &ferr)
		if err != nil || done {
			return errors.Join(ferr, err)
		}
	}
}

// parse handles the messages of one read; done is set at the final message.
func (r *kernelReader) parse(b []byte, seq uint32, fn func([]byte) error, ferr *error) (done bool, err error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, errors.New("truncated netlink message")
		}
		typ, flags := binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint16(b[6:])
		mseq, data := binary.NativeEndian.Uint32(b[8:]), b[unix.NLMSG_HDRLEN:l]
		b = b[nlAlign(l):]
		switch {
		case mseq != seq:
			continue // a late answer to an earlier request
		case typ == unix.NLMSG_DONE:
			return true, nil
		case typ == unix.NLMSG_ERROR:
			if len(data) < 4 {
				return true, errors.New("short netlink error")
			}
			if code := int32(binary.NativeEndian.Uint32(data)); code != 0 {
				return true, syscall.Errno(-code)
			}
			return true, nil // the ack of a non-dump request
		case flags&unix.NLM_F_DUMP_INTR != 0:
			return true, errDumpInterrupted
		case len(data) < 4:
			return true, errors.New("short nfnetlink message")
		}
		// The nfgenmsg's res_id is the ruleset generation: answers of
		// different generations do not describe one state.
		if gen := binary.BigEndian.Uint16(data[2:]); r.gen < 0 {
			r.gen = int32(gen)
		} else if int32(gen) != r.gen {
			return true, errDumpInterrupted
		}
		if *ferr == nil {
			*ferr = fn(data[4:]) // after the nfgenmsg header
		}
	}
	return false, nil
}

// attrs calls fn for each netlink attribute in b (type without flags).
// It does not allocate: a dump of 300k rules goes through it millions of times.
func attrs(b []byte, fn func(typ uint16, data []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&nlaTypeMask, b[4:l])
		b = b[min(nlAlign(l), len(b)):]
	}
}

func attrString(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	return string(b)
}

func be32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func nameAttr(typ uint16, name string) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: []byte(name + "\x00")}
}

// readTable reads the table's flags; nil when the kernel has no such table.
func (r *kernelReader) readTable() (*kernelTable, error) {
	var kt *kernelTable
	err := r.request(unix.NFT_MSG_GETTABLE, false, []netlink.Attribute{nameAttr(unix.NFTA_TABLE_NAME, TableName)},
		func(data []byte) error {
			kt = &kernelTable{}
			attrs(data, func(typ uint16, v []byte) {
				if typ == unix.NFTA_TABLE_FLAGS {
					kt.flags = be32(v)
				}
			})
			return nil
		})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get table: %w", err)
	}
	return kt, nil
}

// readChains adds the declarations of the table's chains. The kernel dumps
// the chains of every table of the family: others are skipped.
func (r *kernelReader) readChains(kt *kernelTable) error {
	err := r.request(unix.NFT_MSG_GETCHAIN, true, nil, func(data []byte) error {
		c := &kernelChain{policy: -1}
		var tbl string
		attrs(data, func(typ uint16, v []byte) {
			switch typ {
			case unix.NFTA_CHAIN_TABLE:
				tbl = attrString(v)
			case unix.NFTA_CHAIN_NAME:
				c.name = attrString(v)
			case unix.NFTA_CHAIN_TYPE:
				c.typ = attrString(v)
			case unix.NFTA_CHAIN_POLICY:
				c.policy = int64(be32(v))
			case nftaChainFlags:
				c.flags = be32(v)
			case unix.NFTA_CHAIN_HOOK:
				c.hasHook = true
				attrs(v, func(typ uint16, v []byte) {
					switch typ {
					case unix.NFTA_HOOK_HOOKNUM:
						c.hooknum = be32(v)
					case unix.NFTA_HOOK_PRIORITY:
						c.priority = int32(be32(v))
					}
				})
			}
		})
		// Binding chains belong to one rule (`jump { ... }`) and go with it.
		if tbl == TableName && c.flags&nftChainBinding == 0 {
			kt.chains = append(kt.chains, c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump chains: %w", err)
	}
	return nil
}

// readSets adds the declarations of the table's sets.
func (r *kernelReader) readSets(kt *kernelTable) error {
	err := r.request(unix.NFT_MSG_GETSET, true, []netlink.Attribute{nameAttr(unix.NFTA_SET_TABLE, TableName)}, func(data []byte) error {
		s := &kernelSet{}
		attrs(data, func(typ uint16, v []byte) {
			switch typ {
			case unix.NFTA_SET_NAME:
				s.name = attrString(v)
			case unix.NFTA_SET_FLAGS:
				s.flags = be32(v)
			case unix.NFTA_SET_KEY_TYPE:
				s.keyType = be32(v)
			case unix.NFTA_SET_KEY_LEN:
				s.keyLen = be32(v)
			case unix.NFTA_SET_DATA_TYPE:
				s.dataType = be32(v)
			case unix.NFTA_SET_DATA_LEN:
				s.dataLen = be32(v)
			case unix.NFTA_SET_TIMEOUT:
				s.hasTimeout = true
				if len(v) == 8 {
					s.timeoutMS = binary.BigEndian.Uint64(v)
				}
			case unix.NFTA_SET_OBJ_TYPE:
				s.hasObj = true
			case nftaSetExpr, nftaSetExpressions:
				s.hasExpr = true
			}
		})
		kt.sets = append(kt.sets, s)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump sets: %w", err)
	}
	return nil
}

// readElems fills the elements of s.
func (r *kernelReader) readElems(s *kernelSet) error {
	req := []netlink.Attribute{nameAttr(unix.NFTA_SET_ELEM_LIST_TABLE, TableName), nameAttr(unix.NFTA_SET_ELEM_LIST_SET, s.name)}
	err := r.request(unix.NFT_MSG_GETSETELEM, true, req, func(data []byte) error {
		attrs(data, func(typ uint16, v []byte) {
			if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				return
			}
			attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_LIST_ELEM {
					s.elems = append(s.elems, decodeElem(v))
				}
			})
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump elements of %s: %w", s.name, err)
	}
	return nil
}

// decodeElem copies one element out of the read buffer.
func decodeElem(b []byte) kernelElem {
	var e kernelElem
	attrs(b, func(typ uint16, v []byte) {
		switch typ {
		case unix.NFTA_SET_ELEM_KEY:
			attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_DATA_VALUE {
					e.key = append([]byte(nil), v...)
				}
			})
		case unix.NFTA_SET_ELEM_DATA:
			e.hasData = true
			attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_DATA_VALUE {
					e.data = append([]byte(nil), v...) // an endpoint map
					return
				}
				if typ != unix.NFTA_DATA_VERDICT {
					e.extra = true
					return
				}
				attrs(v, func(typ uint16, v []byte) {
					switch typ {
					case unix.NFTA_VERDICT_CODE:
						e.verdict = int32(be32(v))
					case unix.NFTA_VERDICT_CHAIN:
						e.chain = attrString(v)
					}
				})
			})
		case unix.NFTA_SET_ELEM_FLAGS:
			e.flags = be32(v)
		case unix.NFTA_SET_ELEM_USERDATA:
			e.udata = append([]byte(nil), v...)
		case unix.NFTA_SET_ELEM_TIMEOUT, unix.NFTA_SET_ELEM_EXPIRATION, unix.NFTA_SET_ELEM_EXPR,
			nftaSetElemExprs, nftaSetElemObjref, nftaSetElemKeyEnd:
			e.extra = true
		}
	})
	return e
}

// readRules streams the rules of every wanted chain in kt to fn (the rules
// of chains to delete do not matter), one dump per chain. One dump of the whole table would save the round trips, but the
// kernel resumes a dump by walking every rule already sent again, for each
// 32 KiB it sends: at 10k Services (300k rules) that took 25 s against 2 s
// per chain, whose lookup is a hash table.
func (r *kernelReader) readRules(kt *kernelTable, fn func(c *kernelChain, exprs, udata []byte)) error {
	for _, c := range kt.chains {
		if c.want == nil {
			continue
		}
		req := []netlink.Attribute{nameAttr(unix.NFTA_RULE_TABLE, TableName), nameAttr(unix.NFTA_RULE_CHAIN, c.name)}
		err := r.request(unix.NFT_MSG_GETRULE, true, req, func(data []byte) error {
			var exprs, udata []byte
			attrs(data, func(typ uint16, v []byte) {
				switch typ {
				case unix.NFTA_RULE_EXPRESSIONS:
					exprs = v
				case unix.NFTA_RULE_USERDATA:
					udata = v
				}
			})
			fn(c, exprs, udata)
			return nil
		})
		if errors.Is(err, unix.ENOENT) {
			err = errDumpInterrupted // the chain was deleted since the chain dump
		}
		if err != nil {
			return fmt.Errorf("dump rules of %s: %w", c.name, err)
		}
	}
	return nil
}
