package kubeproxy

import (
	"fmt"
	"os"
	"strconv"
)

// SetOOMScoreAdj writes v to /proc/<pid>/oom_score_adj (pid <= 0: this
// process), as kube-proxy does with oomScoreAdj. It is a process setting,
// not a network one.
func SetOOMScoreAdj(pid int, v int32) error {
	if v < -1000 || v > 1000 {
		return fmt.Errorf("oom_score_adj %d: must be within [-1000, 1000]", v)
	}
	who := "self"
	if pid > 0 {
		who = strconv.Itoa(pid)
	}
	path := "/proc/" + who + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(int(v))), 0o644); err != nil {
		return fmt.Errorf("set oom_score_adj: %w", err)
	}
	return nil
}
