package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	gosync "sync"
	"time"
)

// configzKey is the name kube-proxy registers its configuration under.
const configzKey = "kubeproxy.config.k8s.io"

// metricsRoutes are what kube-proxy's metrics server serves (server.go
// serveMetrics), plus svcnat's /svcnat/status.
func (a *Agent) metricsRoutes() map[string]http.Handler {
	r := map[string]http.Handler{
		"/metrics":       a.metrics.Handler(),
		"/healthz":       http.HandlerFunc(serveOK),
		"/proxyMode":     http.HandlerFunc(a.serveProxyMode),
		"/configz":       http.HandlerFunc(a.serveConfigz),
		"/svcnat/status": http.HandlerFunc(a.serveStatus),
	}
	if a.cfg.Flagz != nil {
		r["/flagz"] = http.HandlerFunc(a.serveFlagz)
	}
	if a.cfg.EnableProfiling {
		r["/debug/pprof"] = http.RedirectHandler("/debug/pprof/", http.StatusFound)
		r["/debug/pprof/"] = http.HandlerFunc(pprof.Index)
		r["/debug/pprof/cmdline"] = http.HandlerFunc(pprof.Cmdline)
		r["/debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
		r["/debug/pprof/symbol"] = http.HandlerFunc(pprof.Symbol)
		r["/debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
	}
	return r
}

// healthRoutes are kube-proxy's health server's.
func (a *Agent) healthRoutes() map[string]http.Handler {
	h := a.health.Handler()
	return map[string]http.Handler{"/healthz": h, "/livez": h}
}

// Handlers returns the handlers of the metrics address and of the health
// address. When both addresses are equal one server serves both, and the
// health server's JSON /healthz replaces the metrics server's plain one.
func (a *Agent) Handlers() (metrics, health http.Handler) {
	return newMux(a.metricsRoutes()), newMux(a.healthRoutes())
}

func newMux(routes map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for path, h := range routes {
		mux.Handle(path, h)
	}
	return mux
}

func serveOK(w http.ResponseWriter, _ *http.Request) {
	textHeaders(w)
	fmt.Fprint(w, "ok")
}

func (a *Agent) serveProxyMode(w http.ResponseWriter, _ *http.Request) {
	textHeaders(w)
	fmt.Fprint(w, a.proxyMode())
}

func (a *Agent) proxyMode() string {
	if a.cfg.ProxyMode != "" {
		return a.cfg.ProxyMode
	}
	return a.be.Name()
}

func (a *Agent) serveConfigz(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{}
	if a.cfg.Configz != nil {
		body[configzKey] = a.cfg.Configz
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "error marshaling json: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// serveFlagz writes the flags in the text form of component-base's
// flagz: a header, then "name=value" lines sorted by name.
func (a *Agent) serveFlagz(w http.ResponseWriter, _ *http.Request) {
	flags := a.cfg.Flagz()
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("\nsvcnat flagz\nWarning: This endpoint is not meant to be machine parseable, " +
		"has no formatting compatibility guarantees and is for debugging purposes only.\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s\n", n, flags[n])
	}
	textHeaders(w)
	_, _ = w.Write([]byte(b.String()))
}

func textHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// listenRetry is how often a server whose address is taken tries again
// (kube-proxy's 5 s), unless Config.BindAddressHardFail.
const listenRetry = 5 * time.Second

// startServers serves the metrics and health routes on their addresses
// (one server when both are equal) and returns a function that stops them.
// Like kube-proxy, an address that is taken (e.g. by the kube-proxy being
// replaced on this node) is retried every 5 s in the background, unless
// BindAddressHardFail makes it an error.
func (a *Agent) startServers() (stop func(), err error) {
	routes := map[string]map[string]http.Handler{}
	add := func(addr string, rs map[string]http.Handler) {
		if addr == "" {
			return
		}
		if routes[addr] == nil {
			routes[addr] = map[string]http.Handler{}
		}
		for p, h := range rs {
			routes[addr][p] = h
		}
	}
	add(a.cfg.MetricsAddr, a.metricsRoutes())
	add(a.cfg.HealthzAddr, a.healthRoutes())
	done := make(chan struct{})
	var mu gosync.Mutex
	var servers []*http.Server
	stop = func() {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		for _, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
			cancel()
		}
	}
	// serve starts a server on ln unless stop was called; under mu, so
	// that stop shuts down every server that started.
	serve := func(addr string, ln net.Listener) {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-done:
			ln.Close()
			return
		default:
		}
		s := &http.Server{Handler: newMux(routes[addr]), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error(err, "HTTP server stopped", "addr", addr)
			}
		}()
		a.log.Info("Serving", "addr", ln.Addr().String())
	}
	for addr := range routes {
		ln, err := net.Listen("tcp", addr)
		switch {
		case err == nil:
			serve(addr, ln)
		case a.cfg.BindAddressHardFail:
			a.reportServerFailure(addr, err)
			stop()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		default:
			a.reportServerFailure(addr, err)
			a.log.Error(err, "Cannot listen yet; retrying every 5s", "addr", addr)
			go a.listenLater(addr, done, serve)
		}
	}
	return stop, nil
}

// listenLater retries net.Listen on addr until it succeeds or done closes.
func (a *Agent) listenLater(addr string, done <-chan struct{}, serve func(string, net.Listener)) {
	tick := a.cfg.Clock.NewTicker(listenRetry)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C():
		}
		if ln, err := net.Listen("tcp", addr); err == nil {
			serve(addr, ln)
			return
		}
	}
}
