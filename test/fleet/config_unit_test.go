//go:build fleet

package fleet

import (
	"slices"
	"strings"
	"testing"
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
