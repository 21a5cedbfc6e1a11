package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/agent"
	"github.com/svcnat/svcnat/backend"
)

// statusPath is where the agent serves its status, on --metrics-bind-address.
const statusPath = "/svcnat/status"

// statusReport is the schema of `svcnat status -o json` (docs/CLI.md): the
// agent's own report, or what the kernel of a namespace holds.
type statusReport struct {
	// Source is "agent" (asked over HTTP) or "kernel" (read with --netns).
	Source   string `json:"source"`
	Address  string `json:"address,omitempty"` // agent: the URL asked
	NetNS    string `json:"netns,omitempty"`   // kernel: the namespace read
	Version  string `json:"version,omitempty"` // agent only
	Backend  string `json:"backend"`
	NodeName string `json:"nodeName,omitempty"` // agent only
	// LastSync, LastError and LastErrorTime come from the agent (RFC 3339
	// times; empty: never).
	LastSync      string `json:"lastSync,omitempty"`
	LastError     string `json:"lastError,omitempty"`
	LastErrorTime string `json:"lastErrorTime,omitempty"`
	// Healthy is the agent's own verdict (what /healthz answers); absent
	// for the kernel form.
	Healthy  *bool           `json:"healthy,omitempty"`
	Families []statusFamily  `json:"families"`
	Warnings []statusWarning `json:"warnings"`
}

type statusFamily struct {
	Family       string `json:"family"`
	ServicePorts *int   `json:"servicePorts,omitempty"` // agent only
	Rules        int    `json:"rules"`
	Elements     int    `json:"elements"`
	// Tables and Chains are read from the kernel (--netns form only).
	Tables []string `json:"tables,omitempty"`
	Chains *int     `json:"chains,omitempty"`
}

type statusWarning struct {
	Object  string `json:"object"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func newStatusCmd(e *env) *cobra.Command {
	var b backendFlags
	var out outputFlag
	var address string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status [--address HOST:PORT | --netns NAME [--backend NAME]] [flags]",
		Short: "show what a running agent, or a namespace's kernel, has programmed",
		Long: `Status asks a running 'svcnat run' what it has programmed: its version,
backend and node, the time of the last sync and the last error, its health,
per IP family the service ports, rules and set elements, and the warnings
about skipped input. It reads GET ` + statusPath + ` on the agent's
--metrics-bind-address (--address, default ` + agent.DefaultMetricsAddr + `).

With --netns (or an explicit --backend) no agent is needed: status reads the
kernel of that namespace (default: its own) and counts svcnat's tables,
chains, rules and elements per family, with the chosen backend.

-o json or -o yaml prints the same as a document (schema: docs/CLI.md).`,
		Example: `  svcnat status
  svcnat status --address 127.0.0.1:10249 -o json | jq -r .lastError
  svcnat status --netns lab --backend iptables`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	b.register(cmd.Flags(), true)
	backendCompletions(cmd)
	out.register(cmd)
	cmd.Flags().StringVar(&address, "address", agent.DefaultMetricsAddr, "the agent's --metrics-bind-address, `HOST:PORT` (or http://HOST:PORT)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the agent or the kernel (`DURATION`)")
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		kernel := cmd.Flags().Changed("netns") || cmd.Flags().Changed("backend")
		if kernel && cmd.Flags().Changed("address") {
			return usagef("--address asks an agent, --netns and --backend read the kernel: give one or the other")
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		var rep *statusReport
		var err error
		if kernel {
			rep, err = kernelStatus(ctx, &b)
		} else {
			rep, err = agentStatus(ctx, address)
		}
		if err != nil {
			return err
		}
		return out.write(e.stdout, rep, rep.writeText)
	})
	return cmd
}

// statusURL turns --address into the status URL; a wildcard bind address
// (0.0.0.0, ::) is asked on loopback.
func statusURL(address string) (string, error) {
	hostport := strings.TrimSuffix(strings.TrimPrefix(address, "http://"), "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", usagef("--address %q: want HOST:PORT: %v", address, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + statusPath, nil
}

// agentStatus asks the agent over HTTP.
func agentStatus(ctx context.Context, address string) (*statusReport, error) {
	url, err := statusURL(address)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("no svcnat agent answers at %s (connection refused): is 'svcnat run' running with this --metrics-bind-address?", url)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("no answer from %s within the --timeout", url)
	case err != nil:
		return nil, fmt.Errorf("ask the agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s: is this a svcnat agent (version with %s)?", url, resp.Status, statusPath)
	}
	rep := &statusReport{}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 16<<20))
	if err := dec.Decode(rep); err != nil {
		return nil, fmt.Errorf("%s: not a svcnat status document: %w", url, err)
	}
	rep.Source, rep.Address, rep.NetNS = "agent", url, ""
	if rep.Families == nil {
		rep.Families = []statusFamily{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []statusWarning{}
	}
	return rep, nil
}

// kernelStatus reads the namespace's kernel with the chosen backend.
func kernelStatus(ctx context.Context, b *backendFlags) (*statusReport, error) {
	be, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	insp, ok := be.(backend.Inspector)
	if !ok {
		return nil, fmt.Errorf("the %s backend cannot read back its rules", be.Name())
	}
	invs, err := insp.Inspect(ctx)
	if err != nil {
		return nil, err
	}
	ns := b.netns
	if ns == "" {
		ns = "(own)"
	}
	rep := &statusReport{Source: "kernel", NetNS: ns, Backend: be.Name(), Families: []statusFamily{}, Warnings: []statusWarning{}}
	for _, inv := range invs {
		chains := inv.Chains
		rep.Families = append(rep.Families, statusFamily{
			Family: inv.Family.String(), Rules: inv.Rules, Elements: inv.Elements,
			Tables: append([]string{}, inv.Tables...), Chains: &chains,
		})
	}
	return rep, nil
}

func (r *statusReport) writeText(w io.Writer) error {
	var b strings.Builder
	if r.Source == "kernel" {
		fmt.Fprintf(&b, "kernel of network namespace %s, backend %s\n", r.NetNS, r.Backend)
	} else {
		fmt.Fprintf(&b, "agent at %s: svcnat %s, backend %s, node %s\n", r.Address, orDash(r.Version), r.Backend, orDash(r.NodeName))
		healthy := "unknown"
		if r.Healthy != nil {
			healthy = map[bool]string{true: "yes", false: "no"}[*r.Healthy]
		}
		fmt.Fprintf(&b, "healthy:    %s\n", healthy)
		fmt.Fprintf(&b, "last sync:  %s\n", sinceText(r.LastSync, "never"))
		lastErr := "none"
		if r.LastError != "" {
			lastErr = r.LastError + " (" + sinceText(r.LastErrorTime, "time unknown") + ")"
		}
		fmt.Fprintf(&b, "last error: %s\n", lastErr)
	}
	for _, f := range r.Families {
		b.WriteString(f.text())
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "warnings (%d):\n", len(r.Warnings))
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "  %s: %s: %s\n", wn.Object, wn.Reason, wn.Message)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f statusFamily) text() string {
	if f.Chains != nil { // read from the kernel
		if len(f.Tables) == 0 {
			return fmt.Sprintf("%s: no svcnat rules\n", f.Family)
		}
		return fmt.Sprintf("%s: %s: %d chains, %d rules, %d elements\n", f.Family, strings.Join(f.Tables, ", "), *f.Chains, f.Rules, f.Elements)
	}
	ports := "?"
	if f.ServicePorts != nil {
		ports = fmt.Sprint(*f.ServicePorts)
	}
	return fmt.Sprintf("%s: %s service ports, %d rules, %d elements\n", f.Family, ports, f.Rules, f.Elements)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sinceText shows an RFC 3339 time with how long ago it was.
func sinceText(ts, empty string) string {
	if ts == "" {
		return empty
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return fmt.Sprintf("%s (%s ago)", ts, time.Since(t).Round(time.Second))
}
