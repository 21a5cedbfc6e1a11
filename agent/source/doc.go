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
//     serves networking.k8s.io/v1 servicecidrs. Its caches keep only the
//     fields, labels and annotations svcnat reads, and EndpointSlices in
//     synth's compact form (transform.go), which Snapshot hands out as
//     Input.Slices. The informers list in pages of 2500, each made lean
//     before the next is asked for, and do not stream their lists: the
//     API server closes a streamed list that falls a second behind the
//     cluster's churn, and a single LIST is decoded whole (pagedlist.go).
//     It probes
//     the API server's /readyz every 2 s (every 0.5 s while it refuses
//     connections) and, when it is ready again after an outage in which it
//     refused connections, lists everything with new informers instead of waiting
//     out the reflectors' backoff (up to 30 s); the old caches serve
//     Snapshot until the new ones are complete. An API server that kept
//     answering "not ready", or too slowly (etcd restarting), kept its
//     watch cache and the informers' watches, so a spell of that shorter
//     than 15 s costs no relist from every node (recovery.go). Snapshot
//     does not list the caches: the informers' events keep the Services and
//     EndpointSlices sorted one object at a time (apiview.go), and after a
//     relist unchanged objects (same UID and resourceVersion) keep their
//     old pointers.
//   - Dir makes the manifest files of a directory the state. It rescans
//     when inotify reports a finished write, rename or removal in the
//     directory (so an edit costs no poll delay), and also compares sizes,
//     modification times and inodes every 200 ms, which keeps working on
//     network and bind-mounted file systems where inotify is unreliable.
//
// Dir keeps the last good content of a file until a new version is
// complete. A version is complete when it was renamed into place (an
// editor's write-and-rename, a ConfigMap volume's ..data swap: inotify
// reports the rename) or, for a file written in place (cp, `kubectl get
// -o yaml > file`), when its size, modification time and inode have stayed
// the same for SettleTime (500 ms). A file is never read half-written
// unless its writer pauses longer than that; files present at start are
// taken as they are. A complete version replaces the old one object by
// object: an object that does not decode (or has no name, or repeats
// another) is reported and skipped, the others are taken; a version with
// nothing usable and errors (a broken edit) is reported once and the
// last good content is kept. An object defined in two files is taken
// from the first file in name order and reported. A change merges only the
// changed files' objects into the state (merge.go); every file is merged
// again only while some object is defined twice.
//
// Both sources hand out new lists per change but keep every unchanged
// object's pointer: synth.Builder finds what changed by comparing pointers,
// so a one-endpoint change costs work in proportion to the change.
package source
