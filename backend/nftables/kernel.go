package nftables

import (
	"errors"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// NewWithKernel returns a Backend over k instead of netlink in a
// namespace: the planner, the commit path and the reconcile path are the
// same as New's. Tests pass the in-memory kernel of internal/nfnlfake, so
// they program and read tables without root. The Backend closes k when
// it is closed.
func NewWithKernel(k nfnl.Kernel) (*Backend, error) {
	if k == nil {
		return nil, errors.New("nftables: no kernel")
	}
	batch, err := nfnl.NewBatch()
	if err != nil {
		k.Close()
		return nil, explain("nftables connection", err)
	}
	return &Backend{applied: map[synth.Family]*model{}, index: map[synth.Family]*elemIndex{},
		kernel: k, gens: nfnl.NewGenWatch(k), batch: batch}, nil
}
