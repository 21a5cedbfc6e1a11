package kubeproxy_test

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/kubeproxy"
)

// A kubeadm cluster's kube-proxy command line, run by svcnat.
func ExampleOptions_Complete() {
	o := kubeproxy.NewOptions()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.AddFlags(fs)
	o.AddSvcnatFlags(fs)
	err := fs.Parse([]string{
		"--config", "testdata/kubeadm-v1.37-nftables.conf",
		"--hostname-override", "Node-1", // wins over the file
		"-v", "2", // wins over the file
		"--proxy-mode", "iptables", // ignored with --config, like kube-proxy
		"--node-ip", "192.168.1.10", // svcnat's own: always applies
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := o.Complete(fs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Mode, s.NodeName, s.NodeIPs, s.SyncPeriod, s.MinSyncPeriod, s.NodePortPrimary, s.Logging.Verbosity)
	for _, w := range s.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// nftables node-1 [192.168.1.10] 30s 1s true 2
	// warning: --proxy-mode is ignored because --config is given, like kube-proxy: set mode in the file instead
}
