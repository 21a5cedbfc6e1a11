package netns

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// DialContext opens a connection whose socket lives in h's namespace (the
// socket keeps its namespace after the call), for clients such as
// net/http or client-go that take a dial function.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// HTTPGet fetches url from inside h's namespace (one connection, no
// keep-alive, at most timeout) and returns the status code and up to 1 MiB
// of the body.
func (h *Host) HTTPGet(ctx context.Context, url string, timeout time.Duration) (int, string, error) {
	tr := &http.Transport{DialContext: h.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}
