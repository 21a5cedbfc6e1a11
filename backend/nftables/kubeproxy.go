package nftables

import (
	"fmt"
	"os"

	gnft "github.com/google/nftables"
)

// kubeProxyTable is the table kube-proxy's nftables mode owns, in the ip
// and ip6 families (v1.37, pkg/proxy/nftables).
const kubeProxyTable = "kube-proxy"

// CleanupKubeProxy deletes kube-proxy's nftables tables (ip and ip6
// "kube-proxy") in the network namespace at netnsPath ("" = the current
// one), in one transaction, and nothing else: what kube-proxy's --cleanup
// does for nftables mode, for migrating a node from kube-proxy to svcnat.
// A missing table is not an error.
func CleanupKubeProxy(netnsPath string) error {
	var opts []gnft.ConnOption
	if netnsPath != "" {
		ns, err := os.Open(netnsPath)
		if err != nil {
			return fmt.Errorf("kube-proxy cleanup: open network namespace: %w", err)
		}
		defer ns.Close()
		opts = append(opts, gnft.WithNetNSFd(int(ns.Fd())))
	}
	c, err := gnft.New(opts...)
	if err != nil {
		return fmt.Errorf("kube-proxy cleanup: %w", err)
	}
	defer c.CloseLasting()
	for _, fam := range []gnft.TableFamily{gnft.TableFamilyIPv4, gnft.TableFamilyIPv6} {
		t := &gnft.Table{Name: kubeProxyTable, Family: fam}
		c.AddTable(t) // adding an existing table is a no-op, so the delete cannot miss
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return explain("kube-proxy cleanup: delete the kube-proxy tables", err)
	}
	return nil
}
