package kubeproxy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// complete parses args like `svcnat run` would (kube-proxy's and svcnat's
// flags on one set) and completes them, with a fixed host: hostname
// "Node-1.example", no $NODE_NAME.
func complete(args ...string) (*Settings, error) {
	o := NewOptions()
	o.getenv = func(string) string { return "" }
	o.hostname = func() (string, error) { return "Node-1.example", nil }
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	o.AddFlags(fs)
	o.AddSvcnatFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o.Complete(fs)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// writeFile writes content to a file in a test folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const header = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
