package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/svcnat/svcnat/internal/connbench"
)

func printDataplaneTable(w io.Writer, o options, rows []dpRow) {
	fmt.Fprintln(w, "| Services | backend | path | connections/s | ratio to direct | CPU per connection | CPU ratio | connect p50 | connect p99 | failed |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		for _, p := range r.paths {
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %.1f µs | %s | %s | %s | %d |\n",
				size(r.services), r.backend, p.name, connbench.Median(p.rates), ratio(p.ratios),
				connbench.Median(p.cpu), ratio(p.cpuRatios),
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
		"threads) over the connections of a round, median over rounds; CPU ratio: the direct path's CPU per connection over "+
		"this path's in the same round, median over rounds (the ratio of rates when CPU is the limit); connect latency: percentiles over every "+
		"connection of every round. The node's rules are loaded on every "+
		"path, so conntrack tracks the direct path too.\n", d.workers, d.rounds, d.round)
}

// summary is a row on one line, for progress output.
func (r dpRow) summary() string {
	var parts []string
	for _, p := range r.paths {
		parts = append(parts, fmt.Sprintf("%s %.0f/s (%s, CPU %s)", p.name, connbench.Median(p.rates), ratio(p.ratios), ratio(p.cpuRatios)))
	}
	return strings.Join(parts, ", ")
}

// ratio is the median ratio, or a dash when the direct path was not loaded.
func ratio(rs []float64) string {
	if len(rs) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", connbench.Median(rs))
}

func us(d time.Duration) string {
	return fmt.Sprintf("%d µs", d.Microseconds())
}
