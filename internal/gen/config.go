package gen

import (
	"errors"
	"fmt"
	"net/netip"
)

// Config describes a synthetic cluster. Zero values take the defaults
// named on each field.
type Config struct {
	Services int
	// EndpointsPerService is the number of ready endpoints of each Service
	// (0: none, but each Service still has an empty EndpointSlice).
	EndpointsPerService int
	// NodePortFraction of the Services are of type NodePort (default 0.1;
	// negative: none).
	NodePortFraction float64
	// Every TwoPortEvery-th Service has two ports (default 10; negative: none).
	TwoPortEvery int
	// Seed selects the random choices; the same Config gives the same objects.
	Seed int64
	// NodeName is the node svcnat renders for (default "node-1"); it is
	// always one of the Nodes.
	NodeName string
	// Nodes is how many nodes the endpoints are spread over (default 10).
	Nodes int
	// ServiceCIDR holds the ClusterIPs (default 10.96.0.0/12).
	ServiceCIDR netip.Prefix
	// PodCIDR holds the endpoint addresses (default 10.128.0.0/9); same
	// family as ServiceCIDR.
	PodCIDR netip.Prefix
	// NodeCIDR holds the Nodes' InternalIPs (default 172.18.0.0/16, or
	// fc00:18::/64 for IPv6).
	NodeCIDR netip.Prefix
}

// NodePortMin and NodePortMax bound the default Kubernetes NodePort range.
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.NodePortFraction == 0 {
		c.NodePortFraction = 0.1
	}
	if c.TwoPortEvery == 0 {
		c.TwoPortEvery = 10
	}
	if c.NodeName == "" {
		c.NodeName = "node-1"
	}
	if c.Nodes == 0 {
		c.Nodes = 10
	}
	if !c.ServiceCIDR.IsValid() {
		c.ServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	}
	if !c.PodCIDR.IsValid() {
		c.PodCIDR = netip.MustParsePrefix("10.128.0.0/9")
	}
	if !c.NodeCIDR.IsValid() {
		c.NodeCIDR = netip.MustParsePrefix("172.18.0.0/16")
		if c.PodCIDR.Addr().Is6() {
			c.NodeCIDR = netip.MustParsePrefix("fc00:18::/64")
		}
	}
	return c
}

// Validate reports a Config (after defaults) that cannot be built: negative
// counts, or more addresses than the CIDRs hold.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Services < 0 || c.EndpointsPerService < 0 || c.Nodes < 0:
		return errors.New("gen: negative count")
	case c.NodePortFraction > 1:
		return fmt.Errorf("gen: NodePortFraction %v is more than 1", c.NodePortFraction)
	case c.ServiceCIDR.Addr().Is4() != c.PodCIDR.Addr().Is4() || c.NodeCIDR.Addr().Is4() != c.PodCIDR.Addr().Is4():
		return errors.New("gen: ServiceCIDR, PodCIDR and NodeCIDR must be of one IP family")
	}
	if err := checkFits("ServiceCIDR", c.ServiceCIDR, c.Services); err != nil {
		return err
	}
	if err := checkFits("PodCIDR", c.PodCIDR, c.Services*c.EndpointsPerService); err != nil {
		return err
	}
	return checkFits("NodeCIDR", c.NodeCIDR, c.Nodes)
}

func checkFits(what string, p netip.Prefix, n int) error {
	if uint64(n) > capacity(p) {
		return fmt.Errorf("gen: %s %v holds %d addresses, %d needed", what, p, capacity(p), n)
	}
	return nil
}
