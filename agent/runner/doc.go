// Package runner is a bounded-frequency runner: callers mark work as
// pending with Trigger, and one goroutine runs the work function at most
// once per MinInterval, at least once per MaxInterval, and again after a
// failure with exponential backoff. The function never runs twice at once.
//
// It follows kube-proxy's BoundedFrequencyRunner with two differences that
// matter for a Service proxy:
//
//   - The periodic run is due MaxInterval after the previous periodic (full)
//     run, not after any run: under a steady stream of changes kube-proxy's
//     timer keeps being pushed back, but the periodic run is the one that
//     repairs rules someone else changed, so it must not be starved. A run
//     that is due for both reasons is one run, marked Full.
//   - While the function is failing, every run (also one asked for by a new
//     Trigger) waits for the backoff, so a broken kernel is not hammered
//     every MinInterval. The backoff starts at InitialBackoff, doubles, is
//     capped at MaxBackoff and resets after a success.
//
// Time comes from an injectable k8s.io/utils/clock so tests can be
// deterministic (a fake clock, or testing/synctest with the real clock).
package runner
