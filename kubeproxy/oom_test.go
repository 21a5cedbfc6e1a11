package kubeproxy

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestSetOOMScoreAdj sets the score of a child process, never this one.
func TestSetOOMScoreAdj(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	// Raising the score needs no privilege; lowering it needs
	// CAP_SYS_RESOURCE, so test lowering only with it.
	values := []int32{500}
	if hasCapability(t, capSysResource) {
		values = append(values, -999)
	} else {
		t.Log("no CAP_SYS_RESOURCE: lowering the score is not tested")
	}
	for _, v := range values {
		if err := SetOOMScoreAdj(pid, v); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/oom_score_adj")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != strconv.Itoa(int(v)) {
			t.Errorf("oom_score_adj %s, want %d", got, v)
		}
	}
	if err := SetOOMScoreAdj(pid, 1001); err == nil {
		t.Error("1001 accepted")
	}
}

const capSysResource = 24

// hasCapability reads this process's effective capabilities.
func hasCapability(t *testing.T, bit uint) bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<bit) != 0
		}
	}
	return false
}
