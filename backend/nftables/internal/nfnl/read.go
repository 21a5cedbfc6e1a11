package nfnl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file reads one table back from the kernel with plain nfnetlink
// requests on a socket of its own. google/nftables' readers are not used:
// they keep every rule decoded in memory, and its set decoder loses the
// data type of verdict maps. Here rules stream to the caller, which
// compares them while they come in, so nothing of the size of the
// ruleset is held. Every answer carries the ruleset generation; a change
// between two requests makes the read fail (and the caller fall back to
// replacing the table) rather than mix two states.

// Kernel attribute numbers golang.org/x/sys/unix does not define.
const (
	nftaChainFlags     = 10 // NFTA_CHAIN_FLAGS
	nftChainBinding    = 1 << 2
	nftaSetExpr        = 17 // NFTA_SET_EXPR
	nftaSetExpressions = 18 // NFTA_SET_EXPRESSIONS
	nftaSetElemExprs   = 10 // NFTA_SET_ELEM_EXPRESSIONS
	nftaSetElemObjref  = 8  // NFTA_SET_ELEM_OBJREF
	nftaSetElemKeyEnd  = 9  // NFTA_SET_ELEM_KEY_END
	readTimeout        = 60 * time.Second
	readBufferLen      = 1 << 20
)

// ErrDumpInterrupted means the ruleset changed while it was being dumped:
// what was read is not one consistent state.
var ErrDumpInterrupted = errors.New("nftables dump interrupted by a concurrent change")

// Table is what the kernel holds of one table, as far as svcnat compares it.
type Table struct {
	Flags  uint32
	Chains []*Chain // in dump order
	Sets   []*Set
}

// Chain is a chain's declaration.
type Chain struct {
	Name     string
	HasHook  bool
	Type     string
	Hooknum  uint32
	Priority int32
	Policy   int64 // -1: none
	Flags    uint32
}

// Set is a set's declaration and, once read, its elements.
type Set struct {
	Name                        string
	Flags                       uint32
	KeyType, KeyLen             uint32
	DataType, DataLen           uint32
	TimeoutMS                   uint64
	HasTimeout, HasExpr, HasObj bool
	Elems                       []Elem
}

// Elem is one raw element.
type Elem struct {
	Key      []byte
	Flags    uint32
	Verdict  int32
	Chain    string
	HasData  bool
	Data     []byte // a value map's value
	UserData []byte
	Extra    bool // timeout, expiration, expressions, object or range end: never sent by svcnat
}

// reader is Conn's Reader: a dump socket in the target namespace.
type reader struct {
	sock  *netlink.Conn
	fam   uint8
	table string
	buf   []byte
	gen   int32 // ruleset generation of the first answer; -1 before it
}

// Read implements Kernel.
func (c *Conn) Read(fam Family, table string) (Reader, error) {
	sock, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: c.netnsFd})
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	_ = sock.SetOption(netlink.ExtendedAcknowledge, true)
	if err := sock.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
		sock.Close()
		return nil, err
	}
	return &reader{sock: sock, fam: uint8(fam), table: table, buf: make([]byte, readBufferLen), gen: -1}, nil
}

func (r *reader) Close() error { return r.sock.Close() }

// request sends one nftables GET request and calls fn for every answer
// until the dump ends (or, without dump, until the single answer).
func (r *reader) request(msgType int, dump bool, attrs []netlink.Attribute, fn func(data []byte) error) error {
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
func (r *reader) receive(seq uint32, fn func(data []byte) error) error {
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
func (r *reader) parse(b []byte, seq uint32, fn func([]byte) error, ferr *error) (done bool, err error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, errors.New("truncated netlink message")
		}
		typ, flags := binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint16(b[6:])
		mseq, data := binary.NativeEndian.Uint32(b[8:]), b[unix.NLMSG_HDRLEN:l]
		b = b[Align(l):]
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
			return true, ErrDumpInterrupted
		case len(data) < 4:
			return true, errors.New("short nfnetlink message")
		}
		// The nfgenmsg's res_id is the ruleset generation: answers of
		// different generations do not describe one state.
		if gen := binary.BigEndian.Uint16(data[2:]); r.gen < 0 {
			r.gen = int32(gen)
		} else if int32(gen) != r.gen {
			return true, ErrDumpInterrupted
		}
		if *ferr == nil {
			*ferr = fn(data[4:]) // after the nfgenmsg header
		}
	}
	return false, nil
}

// Table implements Reader: the table's flags.
func (r *reader) Table() (*Table, error) {
	var kt *Table
	err := r.request(unix.NFT_MSG_GETTABLE, false, []netlink.Attribute{nameAttr(unix.NFTA_TABLE_NAME, r.table)},
		func(data []byte) error {
			kt = &Table{}
			Attrs(data, func(typ uint16, v []byte) {
				if typ == unix.NFTA_TABLE_FLAGS {
					kt.Flags = be32(v)
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

// Chains implements Reader. The kernel dumps the chains of every table of
// the family: others are skipped.
func (r *reader) Chains(kt *Table) error {
	err := r.request(unix.NFT_MSG_GETCHAIN, true, nil, func(data []byte) error {
		c := &Chain{Policy: -1}
		var tbl string
		Attrs(data, func(typ uint16, v []byte) {
			switch typ {
			case unix.NFTA_CHAIN_TABLE:
				tbl = attrString(v)
			case unix.NFTA_CHAIN_NAME:
				c.Name = attrString(v)
			case unix.NFTA_CHAIN_TYPE:
				c.Type = attrString(v)
			case unix.NFTA_CHAIN_POLICY:
				c.Policy = int64(be32(v))
			case nftaChainFlags:
				c.Flags = be32(v)
			case unix.NFTA_CHAIN_HOOK:
				c.HasHook = true
				Attrs(v, func(typ uint16, v []byte) {
					switch typ {
					case unix.NFTA_HOOK_HOOKNUM:
						c.Hooknum = be32(v)
					case unix.NFTA_HOOK_PRIORITY:
						c.Priority = int32(be32(v))
					}
				})
			}
		})
		// Binding chains belong to one rule (`jump { ... }`) and go with it.
		if tbl == r.table && c.Flags&nftChainBinding == 0 {
			kt.Chains = append(kt.Chains, c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump chains: %w", err)
	}
	return nil
}

// Sets implements Reader.
func (r *reader) Sets(kt *Table) error {
	err := r.request(unix.NFT_MSG_GETSET, true, []netlink.Attribute{nameAttr(unix.NFTA_SET_TABLE, r.table)}, func(data []byte) error {
		s := &Set{}
		Attrs(data, func(typ uint16, v []byte) {
			switch typ {
			case unix.NFTA_SET_NAME:
				s.Name = attrString(v)
			case unix.NFTA_SET_FLAGS:
				s.Flags = be32(v)
			case unix.NFTA_SET_KEY_TYPE:
				s.KeyType = be32(v)
			case unix.NFTA_SET_KEY_LEN:
				s.KeyLen = be32(v)
			case unix.NFTA_SET_DATA_TYPE:
				s.DataType = be32(v)
			case unix.NFTA_SET_DATA_LEN:
				s.DataLen = be32(v)
			case unix.NFTA_SET_TIMEOUT:
				s.HasTimeout = true
				if len(v) == 8 {
					s.TimeoutMS = binary.BigEndian.Uint64(v)
				}
			case unix.NFTA_SET_OBJ_TYPE:
				s.HasObj = true
			case nftaSetExpr, nftaSetExpressions:
				s.HasExpr = true
			}
		})
		kt.Sets = append(kt.Sets, s)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump sets: %w", err)
	}
	return nil
}

// Elems implements Reader.
func (r *reader) Elems(s *Set) error {
	return r.EachElem(s, func(e Elem) { s.Elems = append(s.Elems, e.Clone()) })
}

// EachElem implements Reader.
func (r *reader) EachElem(s *Set, fn func(Elem)) error {
	req := []netlink.Attribute{nameAttr(unix.NFTA_SET_ELEM_LIST_TABLE, r.table), nameAttr(unix.NFTA_SET_ELEM_LIST_SET, s.Name)}
	err := r.request(unix.NFT_MSG_GETSETELEM, true, req, func(data []byte) error {
		Attrs(data, func(typ uint16, v []byte) {
			if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				return
			}
			Attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_LIST_ELEM {
					fn(elemView(v))
				}
			})
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump elements of %s: %w", s.Name, err)
	}
	return nil
}

// Clone returns e with byte slices of its own.
func (e Elem) Clone() Elem {
	e.Key = bytes.Clone(e.Key)
	e.Data = bytes.Clone(e.Data)
	e.UserData = bytes.Clone(e.UserData)
	return e
}

// DecodeElem decodes one element (the contents of an NFTA_LIST_ELEM) as
// the kernel dumps it and as NEWSETELEM carries it; it copies what it keeps.
func DecodeElem(b []byte) Elem { return elemView(b).Clone() }

// elemView decodes one element; its byte slices point into b.
func elemView(b []byte) Elem {
	var e Elem
	Attrs(b, func(typ uint16, v []byte) {
		switch typ {
		case unix.NFTA_SET_ELEM_KEY:
			Attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_DATA_VALUE {
					e.Key = v
				}
			})
		case unix.NFTA_SET_ELEM_DATA:
			e.HasData = true
			Attrs(v, func(typ uint16, v []byte) {
				if typ == unix.NFTA_DATA_VALUE {
					e.Data = v // an endpoint map
					return
				}
				if typ != unix.NFTA_DATA_VERDICT {
					e.Extra = true
					return
				}
				Attrs(v, func(typ uint16, v []byte) {
					switch typ {
					case unix.NFTA_VERDICT_CODE:
						e.Verdict = int32(be32(v))
					case unix.NFTA_VERDICT_CHAIN:
						e.Chain = attrString(v)
					}
				})
			})
		case unix.NFTA_SET_ELEM_FLAGS:
			e.Flags = be32(v)
		case unix.NFTA_SET_ELEM_USERDATA:
			e.UserData = v
		case unix.NFTA_SET_ELEM_TIMEOUT, unix.NFTA_SET_ELEM_EXPIRATION, unix.NFTA_SET_ELEM_EXPR,
			nftaSetElemExprs, nftaSetElemObjref, nftaSetElemKeyEnd:
			e.Extra = true
		}
	})
	return e
}

// Rules implements Reader, with one dump per chain. One dump of the whole
// table would save the round trips, but the kernel resumes a dump by
// walking every rule already sent again, for each 32 KiB it sends: at 10k
// Services (300k rules) that took 25 s against 2 s per chain, whose lookup
// is a hash table.
func (r *reader) Rules(c *Chain, fn func(exprs, udata []byte)) error {
	req := []netlink.Attribute{nameAttr(unix.NFTA_RULE_TABLE, r.table), nameAttr(unix.NFTA_RULE_CHAIN, c.Name)}
	err := r.request(unix.NFT_MSG_GETRULE, true, req, func(data []byte) error {
		var exprs, udata []byte
		Attrs(data, func(typ uint16, v []byte) {
			switch typ {
			case unix.NFTA_RULE_EXPRESSIONS:
				exprs = v
			case unix.NFTA_RULE_USERDATA:
				udata = v
			}
		})
		fn(exprs, udata)
		return nil
	})
	if errors.Is(err, unix.ENOENT) {
		err = ErrDumpInterrupted // the chain was deleted since the chain dump
	}
	if err != nil {
		return fmt.Errorf("dump rules of %s: %w", c.Name, err)
	}
	return nil
}

// CountRules implements Reader.
func (r *reader) CountRules(c *Chain) (int, error) {
	n, err := r.count(unix.NFT_MSG_GETRULE, unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN, c.Name, 0)
	if err != nil {
		return 0, fmt.Errorf("count rules of %s: %w", c.Name, err)
	}
	return n, nil
}

// CountElems implements Reader.
func (r *reader) CountElems(s *Set) (int, error) {
	n, err := r.count(unix.NFT_MSG_GETSETELEM, unix.NFTA_SET_ELEM_LIST_TABLE, unix.NFTA_SET_ELEM_LIST_SET, s.Name, unix.NFTA_SET_ELEM_LIST_ELEMENTS)
	if err != nil {
		return 0, fmt.Errorf("count elements of %s: %w", s.Name, err)
	}
	return n, nil
}

// count dumps the rules of one chain (list 0: each answer is one) or the
// elements of one set (list: the attribute holding them) and counts them
// without keeping them.
func (r *reader) count(msg int, tableAttr, nameAttrType uint16, name string, list uint16) (int, error) {
	req := []netlink.Attribute{nameAttr(tableAttr, r.table), nameAttr(nameAttrType, name)}
	n := 0
	err := r.request(msg, true, req, func(data []byte) error {
		if list == 0 {
			n++
			return nil
		}
		Attrs(data, func(typ uint16, v []byte) {
			if typ == list {
				Attrs(v, func(typ uint16, _ []byte) {
					if typ == unix.NFTA_LIST_ELEM {
						n++
					}
				})
			}
		})
		return nil
	})
	return n, err
}
