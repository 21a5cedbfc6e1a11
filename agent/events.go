package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

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

// EventSink writes Events: *kubeclient.Client, or in tests a fake
// clientset behind kubeclienttest's adapter.
type EventSink interface {
	CreateEvent(ctx context.Context, ev *eventsv1.Event) error
}

// Bounds of the Event writer: the agent records a handful of Events per
// episode, so a full queue means the API server is not taking them and
// dropping is right; a failed write is retried a few times, not forever.
const (
	eventQueue    = 64
	eventTries    = 3
	eventRetry    = 2 * time.Second
	eventTimeout  = 10 * time.Second
	maxNoteLength = 1024 // the API's limit on an Event's note
)

// eventRecorder writes the agent's Events through a sink in the
// background, so that a slow or absent API server never delays a sync or
// a shutdown. It is client-go's Event recorder without its aggregation:
// the agent already records one Event per episode.
type eventRecorder struct {
	sink     EventSink
	instance string // reportingInstance: svcnat-<hostname>, as client-go names it
	queue    chan *eventsv1.Event
}

// startEvents starts recording Events through cfg.EventClient and returns
// the recorder (nil without a client) and what stops it.
func (a *Agent) startEvents(ctx context.Context) (*eventRecorder, func()) {
	if a.cfg.EventClient == nil {
		return nil, func() {}
	}
	host, _ := os.Hostname()
	r := &eventRecorder{sink: a.cfg.EventClient, instance: eventsComponent + "-" + host,
		queue: make(chan *eventsv1.Event, eventQueue)}
	ctx, cancel := context.WithCancel(ctx)
	go r.run(ctx)
	return r, cancel
}

// Eventf queues an Event about regarding; it never blocks.
func (r *eventRecorder) Eventf(regarding *corev1.ObjectReference, eventType, reason, action, format string, args ...any) {
	now := time.Now()
	note := fmt.Sprintf(format, args...)
	if len(note) > maxNoteLength {
		note = strings.ToValidUTF8(note[:maxNoteLength], "") // drops a rune cut in two
	}
	ns := regarding.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault // where Events about cluster-scoped objects go
	}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", regarding.Name, now.UnixNano()), Namespace: ns},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: eventsComponent,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *regarding,
		Note:                note,
		Type:                eventType,
	}
	select {
	case r.queue <- ev:
	default:
		klog.Background().V(2).Info("Event queue full; dropping an Event", "reason", reason, "object", regarding.Name)
	}
}

// run writes the queued Events until ctx is done.
func (r *eventRecorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-r.queue:
			r.write(ctx, ev)
		}
	}
}

// write creates ev, trying again a few times after a failure.
func (r *eventRecorder) write(ctx context.Context, ev *eventsv1.Event) {
	var err error
	for try := range eventTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(eventRetry):
			}
		}
		wctx, cancel := context.WithTimeout(ctx, eventTimeout)
		err = r.sink.CreateEvent(wctx, ev)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
	}
	klog.FromContext(ctx).V(2).Info("Could not record an Event", "reason", ev.Reason, "object", ev.Regarding.Name, "err", err.Error())
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
	a.recorder.Eventf(a.nodeRef(), corev1.EventTypeNormal, reasonStarting, actionStart, "Starting svcnat %s.", a.cfg.Version)
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
			a.recorder.Eventf(svc, corev1.EventTypeWarning, reasonHealthCheckFailed, actionListen, "%s",
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
	a.recorder.Eventf(a.nodeRef(), corev1.EventTypeWarning, reason, actionStart, "%s", err.Error())
}
