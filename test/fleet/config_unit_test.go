//go:build fleet

package fleet

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProxyEnv: FLEET_PROXY_ENV gives the proxies (only) extra
// environment; anything but KEY=VALUE words is refused.
func TestProxyEnv(t *testing.T) {
	t.Setenv("FLEET_PROXY_ENV", "GOMEMLIMIT=100MiB  GOGC=50")
	c, err := loadConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOMEMLIMIT=100MiB", "GOGC=50"}; !slices.Equal(c.proxyEnv, want) {
		t.Errorf("proxyEnv = %q, want %q", c.proxyEnv, want)
	}
	t.Setenv("FLEET_PROXY_ENV", "GOMEMLIMIT=100MiB =x")
	if _, err := loadConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), `"=x" is not KEY=VALUE`) {
		t.Errorf("err = %v, want one naming =x", err)
	}
}

// TestReboots: FLEET_REBOOTS sets the settled reboots (3 by default), and
// the report's cell gives their median and maximum, then the reboot right
// after the etcd restart.
func TestReboots(t *testing.T) {
	c, err := loadConfig(t.TempDir())
	if err != nil || c.reboots != 3 {
		t.Fatalf("default reboots = %d, %v; want 3", c.reboots, err)
	}
	t.Setenv("FLEET_REBOOTS", "0")
	if _, err := loadConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), "FLEET_REBOOTS") {
		t.Errorf("FLEET_REBOOTS=0: err = %v, want it refused", err)
	}
	r := result{rebootAfterEtcd: 2600 * time.Millisecond,
		reboots: []time.Duration{1900 * time.Millisecond, 1500 * time.Millisecond, 1700 * time.Millisecond}}
	if got, want := r.rebootCell(), "1.70 / 1.90 s; 2.60 s"; got != want {
		t.Errorf("rebootCell = %q, want %q", got, want)
	}
	if got := (&result{}).rebootCell(); got != "–" {
		t.Errorf("no reboots: rebootCell = %q, want –", got)
	}
}
