// Package source feeds the agent's loop with cluster state. A Source
// delivers change notifications (never the changes themselves) to a
// Handler, says when its initial state is complete (Synced), and hands out
// the whole current state on demand (Snapshot). The loop coalesces
// notifications and asks for one Snapshot per sync: synth.Build is a pure
// function of the whole state, and backends make the kernel work
// incremental, so there is no per-object change tracking to get wrong.
//
// Two sources exist:
//
//   - APIServer watches the Kubernetes API with client-go shared informers
//     for Services, EndpointSlices and this Node, filtered like kube-proxy
//     (no service.kubernetes.io/service-proxy-name label, no
//     service.kubernetes.io/headless label), and ServiceCIDRs when the API
//     serves networking.k8s.io/v1 servicecidrs.
//   - Dir makes the manifest files of a directory the state. It rescans
//     when inotify reports a finished write, rename or removal in the
//     directory (so an edit costs no poll delay), and also compares sizes,
//     modification times and inodes every 200 ms, which keeps working on
//     network and bind-mounted file systems where inotify is unreliable.
//     A file that does not parse is reported and that file's
//     last good content is kept, so a half-written or broken edit never
//     removes Services. Write files atomically (write and rename) to avoid
//     a truncated file that happens to parse.
package source
