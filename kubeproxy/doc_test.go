package kubeproxy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite docs/KUBE-PROXY.md")

const docPath = "../docs/KUBE-PROXY.md"

// TestDocGolden: docs/KUBE-PROXY.md is generated from Reference (go
// generate ./kubeproxy, or this test with -update).
func TestDocGolden(t *testing.T) {
	got := renderDoc()
	if *update {
		if err := os.WriteFile(docPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what Reference generates: run go generate ./kubeproxy", docPath)
	}
}

const docIntro = `# svcnat as a drop-in for kube-proxy

<!-- Generated from kubeproxy.Reference by go generate ./kubeproxy; do not edit. -->

` + "`svcnat run`" + ` accepts kube-proxy v1.37.2's configuration file (` + "`--config`" + `,
kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration) and every one of its command-line flags on Linux,
with kube-proxy's meaning, defaults and precedence:

- With ` + "`--config`" + `, the file is the configuration. Of kube-proxy's flags only ` + "`--hostname-override`" + `
  and the logging flags (` + "`-v`, `--vmodule`, `--logging-format`" + `, ...) override it; ` + "`--master`" + `,
  ` + "`--cleanup`, `--init-only`, `--write-config-to`" + ` still apply. Every other kube-proxy flag is ignored,
  like kube-proxy does, and svcnat says so in a warning.
- Without ` + "`--config`" + `, the flags are the configuration; ` + "`--iptables-sync-period`" + ` and
  ` + "`--iptables-min-sync-period`" + ` apply in every mode but ipvs, the ` + "`--ipvs-*`" + ` ones only in ipvs mode.
- svcnat's own flags apply on top of either (see the end of this page).
- One difference: the file is decoded strictly. An unknown, misspelled or duplicated field is an error naming
  the field and the file; kube-proxy v1.37 falls back to lenient decoding and only logs.
- ` + "`mode`" + `: empty or iptables is iptables (kube-proxy v1.37's Linux default), nftables is nftables, ipvs is
  served by svcnat's nftables backend with a warning (ipvs is deprecated upstream), kernelspace is refused.
- Feature gates are checked against the gates kube-proxy v1.37.2 knows; an unknown gate, or a locked one set
  to its other value, is an error, like kube-proxy.

Dispositions: **honoured** means same spelling, meaning and default as kube-proxy (for a metric or an
endpoint: served under the same name, with the same labels); **not applicable** means accepted with no effect,
and a setting other than kube-proxy's default gives exactly one warning line; **refused** is an error that says
what to do.

`

func renderDoc() []byte {
	var b bytes.Buffer
	b.WriteString(docIntro)
	b.WriteString("| kind | name | svcnat | notes |\n|---|---|---|---|\n")
	for _, e := range Reference {
		name := "`" + e.Name + "`"
		switch e.Kind {
		case KindFlag:
			name = "`--" + e.Name + "`"
			if len(e.Name) == 1 {
				name = "`-" + e.Name + "`"
			}
		}
		note := e.Note
		if e.Kind == KindFlag && e.Field != "" {
			note = "sets `" + e.Field + "`; " + note
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.Kind, name, e.Disposition, escapeCell(note))
	}
	b.WriteString("\n## svcnat's own flags on `svcnat run`\n\nThey apply with or without `--config` and win over both.\n\n")
	b.WriteString("| flag | meaning |\n|---|---|\n")
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	NewOptions().AddSvcnatFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		fmt.Fprintf(&b, "| %s | %s |\n", escapeCell("`--"+f.Name+" "+f.Value.Type()+"`"), escapeCell(f.Usage))
	})
	return b.Bytes()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
