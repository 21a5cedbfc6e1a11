// Package conntrack removes the connection-tracking entries that would
// otherwise keep sending datagrams to the wrong place after a Service
// changed.
//
// TCP needs nothing: a connection to a removed endpoint fails and the
// client reconnects through the new rules. UDP and SCTP flows live on in
// conntrack, bypassing the nat table that only sees the first packet:
//
//   - An endpoint went away (UDP and SCTP): entries DNATed to it would
//     keep blackholing the client until they time out. Delete entries whose
//     original destination is one of the ServicePort's entry points and
//     whose reply source is the endpoint.
//   - A UDP ServicePort got its first usable endpoint: entries created while
//     it had none (rejected or dropped, never DNATed) would keep the client
//     on the cached reject. Delete entries to its entry points that were
//     not DNATed (reply source == original destination). Restricting to
//     un-NATed entries means live, correctly NATed flows are never touched,
//     so the agent can do this on its first sync after a restart too.
//
// Never a blanket flush. Changes is a pure function of the previous and the
// new Rulesets; a Cleaner executes the result through netlink in one
// network namespace, with one table dump per IP family per call.
//
// Apply sets kube-proxy's conntrack sysctls (Sysctls: table size, TCP and
// UDP timeouts, be_liberal) inside one network namespace. The table size
// and the module's hashsize are global: they are only set in the initial
// namespace.
package conntrack
