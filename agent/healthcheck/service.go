package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/svcnat/svcnat/synth"
)

// ServiceInfo is what a healthCheckNodePort server reports.
type ServiceInfo struct {
	Namespace, Name string
	// LocalEndpoints counts the ready endpoints on this node.
	LocalEndpoints int
}

// ServiceHealth runs the healthCheckNodePort servers. It is safe for
// concurrent use.
type ServiceHealth struct {
	bindAddr string
	proxy    *ProxyHealth
	log      logr.Logger

	mu      sync.Mutex
	servers map[uint16]*hcServer
}

type hcServer struct {
	info atomic.Pointer[ServiceInfo]
	srv  *http.Server
	done chan struct{}
}

// NewServiceHealth returns a manager whose servers listen on bindAddr
// ("" means every address) and also report 503 while proxy is unhealthy
// (proxy may be nil).
func NewServiceHealth(bindAddr string, proxy *ProxyHealth, log logr.Logger) *ServiceHealth {
	return &ServiceHealth{bindAddr: bindAddr, proxy: proxy, log: log, servers: map[uint16]*hcServer{}}
}

// ListenError says that the health check node port of a Service could
// not be opened.
type ListenError struct {
	Port            uint16
	Namespace, Name string
	Err             error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("health check node port %d of Service %s/%s: %v", e.Port, e.Namespace, e.Name, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// ListenErrors returns the ListenErrors err (as returned by Sync) joins.
func ListenErrors(err error) []*ListenError {
	var out []*ListenError
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, ListenErrors(e)...)
		}
		return out
	}
	var le *ListenError
	if errors.As(err, &le) {
		out = append(out, le)
	}
	return out
}

// Sync makes the set of servers match services (keyed by port): it opens
// missing servers, closes servers of ports no longer listed and updates
// the counts. A port that cannot be opened is reported in the error (one
// *ListenError each, see ListenErrors) and tried again at the next Sync;
// the others are unaffected.
func (s *ServiceHealth) Sync(services map[uint16]ServiceInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for port, srv := range s.servers {
		if _, ok := services[port]; !ok {
			s.closeServer(port, srv)
		}
	}
	var errs []error
	for port, info := range services {
		srv := s.servers[port]
		if srv == nil {
			var err error
			if srv, err = s.open(port); err != nil {
				errs = append(errs, &ListenError{Port: port, Namespace: info.Namespace, Name: info.Name, Err: err})
				continue
			}
		}
		srv.info.Store(&info)
	}
	return errors.Join(errs...)
}

// Ports returns the ports with a running server.
func (s *ServiceHealth) Ports() []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ports []uint16
	for p := range s.servers {
		ports = append(ports, p)
	}
	return ports
}

// Close stops every server.
func (s *ServiceHealth) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for port, srv := range s.servers {
		s.closeServer(port, srv)
	}
}

func (s *ServiceHealth) open(port uint16) (*hcServer, error) {
	addr := net.JoinHostPort(s.bindAddr, strconv.Itoa(int(port)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	hs := &hcServer{done: make(chan struct{})}
	hs.srv = &http.Server{Handler: s.handler(hs), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(hs.done)
		if err := hs.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(err, "Health check server stopped", "port", port)
		}
	}()
	s.servers[port] = hs
	s.log.V(2).Info("Opened health check node port", "port", port)
	return hs, nil
}

func (s *ServiceHealth) closeServer(port uint16, hs *hcServer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := hs.srv.Shutdown(ctx); err != nil {
		hs.srv.Close()
	}
	<-hs.done
	delete(s.servers, port)
	s.log.V(2).Info("Closed health check node port", "port", port)
}

// serviceStatus is kube-proxy's body for health check node ports.
type serviceStatus struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

func (s *ServiceHealth) handler(hs *hcServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		info := hs.info.Load()
		var st serviceStatus
		st.Service.Namespace, st.Service.Name = info.Namespace, info.Name
		st.LocalEndpoints = info.LocalEndpoints
		st.ServiceProxyHealthy = s.proxy == nil || s.proxy.Healthy()
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(info.LocalEndpoints))
		code := http.StatusServiceUnavailable
		if st.LocalEndpoints > 0 && st.ServiceProxyHealthy {
			code = http.StatusOK
		}
		writeJSON(w, code, st)
	})
}

// FromRulesets collects the healthCheckNodePorts of rss with the number of
// distinct ready local endpoint addresses of each Service across its ports.
// A dual-stack pod has one address per family; like kube-proxy, whose
// per-family proxiers share one server, the count is per family (the
// larger one), not the sum.
func FromRulesets(rss []*synth.Ruleset) map[uint16]ServiceInfo {
	out := map[uint16]ServiceInfo{}
	type key struct {
		port uint16
		fam  synth.Family
	}
	addrs := map[key]map[netip.Addr]bool{}
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		for i := range rs.Services {
			sp := rs.Services[i]
			if sp.HealthCheckNodePort == 0 {
				continue
			}
			k := key{sp.HealthCheckNodePort, rs.Family}
			if addrs[k] == nil {
				addrs[k] = map[netip.Addr]bool{}
			}
			for _, ep := range sp.LocalEndpoints {
				if !ep.Terminating {
					addrs[k][ep.Addr] = true
				}
			}
			n := max(len(addrs[k]), out[k.port].LocalEndpoints)
			out[k.port] = ServiceInfo{Namespace: sp.Name.Namespace, Name: sp.Name.Name, LocalEndpoints: n}
		}
	}
	return out
}
