package kubeproxy

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

const loggingHelperEnv = "SVCNAT_KUBEPROXY_LOGGING_HELPER"

// TestApplyLoggingJSON runs a child test process (logging is process-wide and
// can be applied once) with --logging-format=json -v 2 and checks that its
// log lines are JSON objects, with the verbosity honoured.
func TestApplyLoggingJSON(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoggingHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), loggingHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var seen []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		if msg, _ := entry["msg"].(string); msg != "" {
			seen = append(seen, msg)
			if msg == "at v2" && entry["node"] != "node-1.example" {
				t.Errorf("key/value missing: %q", line)
			}
		}
	}
	if !slices.Contains(seen, "at v2") || slices.Contains(seen, "at v3") {
		t.Errorf("JSON messages %q: want \"at v2\" and not \"at v3\"\n%s", seen, out)
	}
}

func TestLoggingHelper(t *testing.T) {
	if os.Getenv(loggingHelperEnv) == "" {
		t.Skip("run by TestApplyLoggingJSON")
	}
	s, err := complete("--logging-format=json", "-v", "2", "--proxy-mode", "iptables")
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyLogging(s); err != nil {
		t.Fatal(err)
	}
	klog.V(2).InfoS("at v2", "node", s.NodeName)
	klog.V(3).InfoS("at v3")
	klog.Flush()
}
