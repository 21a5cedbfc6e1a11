package sync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// startServers serves /metrics and /healthz, /livez on their addresses
// (one server when both are equal) and returns a function that stops them.
func (a *Agent) startServers() (stop func(), err error) {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
		}
		return muxes[addr]
	}
	if a.cfg.MetricsAddr != "" {
		mux(a.cfg.MetricsAddr).Handle("/metrics", a.metrics.Handler())
	}
	if a.cfg.HealthzAddr != "" {
		h := a.health.Handler()
		mux(a.cfg.HealthzAddr).Handle("/healthz", h)
		mux(a.cfg.HealthzAddr).Handle("/livez", h)
	}
	var servers []*http.Server
	stop = func() {
		for _, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
			cancel()
		}
	}
	for addr, m := range muxes {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			stop()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		s := &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error(err, "HTTP server stopped", "addr", addr)
			}
		}()
		a.log.Info("Serving", "addr", ln.Addr().String())
	}
	return stop, nil
}
