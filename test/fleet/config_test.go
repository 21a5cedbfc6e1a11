//go:build fleet

package fleet

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// config is one run's parameters, from the FLEET_* environment.
type config struct {
	nodes, services int
	proxies         []string
	churn           time.Duration
	churnRate       float64
	outage          time.Duration
	qps             int
	minSyncPeriod   time.Duration
	syncLimit       time.Duration
	report          string
	keep            bool
	// reboots: how many times node-1 reboots once the fleet settled.
	reboots int
	// rebootProfile: take a CPU profile of node-1's proxy while it
	// reboots the first settled time (it costs that proxy a little CPU,
	// so it is asked for).
	rebootProfile bool
	// proxyEnv is added to every proxy's environment (and no other
	// process's: GOMEMLIMIT in the test's own environment would also
	// limit kube-apiserver and etcd).
	proxyEnv []string
}

// Fixed shape of the load.
const (
	endpointsPerService = 10
	nodePortEvery       = 10 // every tenth Service is a NodePort
	probeServices       = 4
	servicePort         = 80
	targetPort          = 8080
	firstNodePort       = 30000
)

var knownProxies = []string{"svcnat", "kube-proxy"}

func loadConfig(repo string) (config, error) {
	c := config{keep: os.Getenv("FLEET_KEEP") == "1", rebootProfile: os.Getenv("FLEET_REBOOT_PROFILE") == "1"}
	var errs []string
	intVar := func(dst *int, key string, def, min, max int) {
		*dst = def
		if v := os.Getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				errs = append(errs, fmt.Sprintf("%s=%q: want an integer in [%d, %d]", key, v, min, max))
				return
			}
			*dst = n
		}
	}
	durVar := func(dst *time.Duration, key string, def time.Duration) {
		*dst = def
		if v := os.Getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a duration", key, v))
				return
			}
			*dst = d
		}
	}
	intVar(&c.nodes, "FLEET_NODES", 8, 3, netns.MaxFleetNodes) // clients need Services with no pod on their node
	// NodePorts: every tenth Service, in a range of 2768 ports.
	intVar(&c.services, "FLEET_SERVICES", 1000, 10, 27000)
	intVar(&c.qps, "FLEET_QPS", 300, 1, 5000)
	intVar(&c.reboots, "FLEET_REBOOTS", 3, 1, 20)
	durVar(&c.churn, "FLEET_CHURN", 60*time.Second)
	durVar(&c.outage, "FLEET_OUTAGE", 30*time.Second)
	durVar(&c.minSyncPeriod, "FLEET_MIN_SYNC_PERIOD", 100*time.Millisecond)
	durVar(&c.syncLimit, "FLEET_SYNC_LIMIT", 15*time.Minute)
	c.churnRate = 10
	if v := os.Getenv("FLEET_CHURN_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 500 {
			errs = append(errs, fmt.Sprintf("FLEET_CHURN_RATE=%q: want a rate in (0, 500]", v))
		}
		c.churnRate = r
	}
	c.proxies = knownProxies
	if v := os.Getenv("FLEET_PROXIES"); v != "" {
		c.proxies = strings.Split(v, ",")
		for _, p := range c.proxies {
			if !slices.Contains(knownProxies, p) {
				errs = append(errs, fmt.Sprintf("FLEET_PROXIES: unknown proxy %q (known: %s)", p, strings.Join(knownProxies, ",")))
			}
		}
	}
	if perNode := c.services*endpointsPerService/max(c.nodes, 1) + 5000; perNode > netns.MaxFleetPods {
		errs = append(errs, fmt.Sprintf("FLEET_SERVICES=%d over %d nodes: more pods per node than a fleet node holds (%d)", c.services, c.nodes, netns.MaxFleetPods))
	}
	c.proxyEnv = strings.Fields(os.Getenv("FLEET_PROXY_ENV"))
	for _, kv := range c.proxyEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Sprintf("FLEET_PROXY_ENV: %q is not KEY=VALUE", kv))
		}
	}
	c.report = envOr("FLEET_REPORT", repo+"/.cache/fleet-report.md")
	if len(errs) > 0 {
		return c, fmt.Errorf("fleet: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
