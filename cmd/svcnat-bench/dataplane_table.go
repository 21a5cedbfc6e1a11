package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/svcnat/svcnat/internal/connbench"
)

func printDataplaneTable(w io.Writer, o options, rows []dpRow) {
	fmt.Fprintln(w, "| Services | backend | path | connections/s | ratio to direct | CPU per connection | connect p50 | connect p99 | failed |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		for _, p := range r.paths {
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.2f | %.1f µs | %s | %s | %d |\n",
				size(r.services), r.backend, p.name, connbench.Median(p.rates), connbench.Median(p.ratios), connbench.Median(p.cpu),
				us(connbench.Percentile(p.connect, 50)), us(connbench.Percentile(p.connect, 99)), p.errors)
		}
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(w, "\n%s Services %s: %v\n", size(r.services), r.backend, r.err)
		}
		for _, p := range r.paths {
			if p.lastErr != nil {
				fmt.Fprintf(w, "\n%s Services %s %s: %d failed connections, e.g. %v\n", size(r.services), r.backend, p.name, p.errors, p.lastErr)
			}
		}
	}
	d := o.dataplane
	fmt.Fprintf(w, "\n%d clients; %d rounds of %v per path, paths interleaved (order rotated each round); "+
		"connections/s and ratio: median over rounds, the ratio taken against the direct path of the same round; "+
		"CPU per connection: this process's user+system time (clients, server, and the kernel's packet work in their "+
		"threads) over the connections of a round, median over rounds; connect latency: percentiles over every "+
		"connection of every round. The node's rules are loaded on every "+
		"path, so conntrack tracks the direct path too.\n", d.workers, d.rounds, d.round)
}

// summary is a row on one line, for progress output.
func (r dpRow) summary() string {
	var parts []string
	for _, p := range r.paths {
		parts = append(parts, fmt.Sprintf("%s %.0f/s (%.2f)", p.name, connbench.Median(p.rates), connbench.Median(p.ratios)))
	}
	return strings.Join(parts, ", ")
}

func us(d time.Duration) string {
	return fmt.Sprintf("%d µs", d.Microseconds())
}
