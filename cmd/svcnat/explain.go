package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/explain"
)

func newExplainCmd(e *env) *cobra.Command {
	var m modelFlags
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "explain [NAMESPACE/]NAME -f FILE... [flags]",
		Short: "describe a Service's flow, entry points to pods",
		Long: `Explain describes how svcnat handles the Service NAME (in NAMESPACE, default
"default") of the manifest files: for each port and IP family, every entry
point (ClusterIP:port, node IPs:nodePort, load-balancer and external IPs),
the endpoints, the flow from clients to pods, and the policies that shape it
(traffic policies, masquerading, source ranges, session affinity, health
check). It reads the same model the backends program.

-o json or -o yaml prints the same as a document (schema: docs/CLI.md).`,
		Example: `  svcnat explain default/my-app-service -f examples/my-app-service.yaml \
      --node-name node-1 --node-ip 192.168.1.100 --cluster-cidr 10.244.0.0/16
  svcnat explain kube-system/kube-dns -f cluster.yaml -o json | jq '.ports[].endpoints'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("want exactly one Service: svcnat explain [NAMESPACE/]NAME -f FILE (got %d arguments)", len(args))
			}
			return nil
		},
	}
	m.register(cmd.Flags())
	out.register(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, args []string) error {
		if err := out.check(); err != nil {
			return err
		}
		ns, name, ok := strings.Cut(args[0], "/")
		if !ok {
			ns, name = "default", args[0]
		}
		in, res, err := m.load(e)
		if err != nil {
			return err
		}
		rep, err := explain.Explain(in, res, ns, name)
		if err != nil {
			return err
		}
		return out.write(e.stdout, rep, rep.WriteText)
	})
	return cmd
}
