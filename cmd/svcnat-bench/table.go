package main

import (
	"fmt"
	"io"
	"time"
)

func printTable(w io.Writer, o options, rows []row) {
	fmt.Fprintln(w, "| Services × endpoints | backend | synth | render | full apply | one-endpoint apply | add-Service apply | peak RSS `svcnat apply` (empty / populated namespace) | rules | elements |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		rss := "–"
		if r.maxRSS > 0 {
			rss = fmt.Sprintf("%d / %d MB", r.maxRSS/1024, r.maxRSSAgain/1024)
		}
		fmt.Fprintf(w, "| %s × %d | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n",
			size(r.services), r.endpoints, r.backend, ms(r.synth), ms(r.render), ms(r.full),
			ms(r.oneEndpoint), ms(r.addService), rss, r.rules, r.elements)
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(w, "\n%s × %d %s: %v\n", size(r.services), r.endpoints, r.backend, r.err)
		}
	}
	fmt.Fprintf(w, "\nincremental columns: median of %d Apply calls (Stats.Duration, synth.Build excluded)\n", o.repeat)
}

func size(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
