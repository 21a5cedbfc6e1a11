package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	"github.com/svcnat/svcnat/agent/healthcheck"
)

// The reporting controller of svcnat's Events.
const eventsComponent = "svcnat"

// Reasons and actions of the Events, kube-proxy's (cmd/kube-proxy/app
// server.go birthCry, pkg/proxy/healthcheck service_health.go), so that
// event filters written for kube-proxy match svcnat's.
const (
	reasonStarting          = "Starting"
	actionStart             = "StartKubeProxy"
	reasonHealthCheckFailed = "FailedToStartServiceHealthcheck"
	actionListen            = "Listen"
	reasonHealthzFailed     = "FailedToStartProxierHealthcheck"
	reasonMetricsFailed     = "FailedToStartMetricServer"
)

// startEvents starts recording Events through cfg.EventClient and returns
// the recorder (nil without a client) and what stops it.
func (a *Agent) startEvents(ctx context.Context) (events.EventRecorder, func()) {
	if a.cfg.EventClient == nil {
		return nil, func() {}
	}
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: a.cfg.EventClient.EventsV1()})
	b.StartRecordingToSink(ctx.Done())
	return b.NewRecorder(scheme.Scheme, eventsComponent), b.Shutdown
}

// nodeRef is the reference kube-proxy's Events about the node use.
func (a *Agent) nodeRef() *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: a.cfg.Synth.NodeName}
}

// birthCry records that the agent started (kube-proxy's "Starting" Event;
// its note is empty upstream, svcnat names itself). Without a node name
// there is no object to attach it to.
func (a *Agent) birthCry() {
	if a.recorder == nil || a.cfg.Synth.NodeName == "" {
		return
	}
	a.recorder.Eventf(a.nodeRef(), nil, corev1.EventTypeNormal, reasonStarting, actionStart, "Starting svcnat %s.", a.cfg.Version)
}

// reportListenErrors records a Warning Event on each Service whose health
// check node port newly failed to open (a port keeps failing at every sync
// until it is free; one Event per episode is enough), and counts and logs
// every failure.
func (a *Agent) reportListenErrors(err error) {
	failing := map[uint16]bool{}
	for _, le := range healthcheck.ListenErrors(err) {
		failing[le.Port] = true
		a.metrics.HealthCheckErrors.Inc()
		if a.hcFailing[le.Port] {
			continue
		}
		a.log.Error(le.Err, "Failed to start healthcheck", "node", a.cfg.Synth.NodeName,
			"service", le.Namespace+"/"+le.Name, "port", le.Port)
		if a.recorder != nil {
			svc := &corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: le.Namespace, Name: le.Name}
			a.recorder.Eventf(svc, nil, corev1.EventTypeWarning, reasonHealthCheckFailed, actionListen, "%s",
				fmt.Sprintf("node %s failed to start healthcheck %q on port %d: %v", a.cfg.Synth.NodeName, le.Namespace+"/"+le.Name, le.Port, le.Err))
		}
	}
	a.hcFailing = failing
}

// reportServerFailure records kube-proxy's Warning Event on the Node when
// the health or the metrics server cannot listen on addr.
func (a *Agent) reportServerFailure(addr string, err error) {
	if a.recorder == nil || a.cfg.Synth.NodeName == "" {
		return
	}
	reason := reasonMetricsFailed
	if addr == a.cfg.HealthzAddr {
		reason = reasonHealthzFailed
	}
	a.recorder.Eventf(a.nodeRef(), nil, corev1.EventTypeWarning, reason, actionStart, "%s", err.Error())
}
