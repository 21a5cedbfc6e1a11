package kubeproxy

//go:generate go run ./internal/upstream/gen -o zz_featuregates.go
//go:generate go test -run ^TestDocGolden$ -update .

import (
	"fmt"
	"strings"

	"github.com/go-logr/logr"

	"k8s.io/apimachinery/pkg/util/version"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	metricsfeatures "k8s.io/component-base/metrics/features"
	zpagesfeatures "k8s.io/component-base/zpages/features"
)

// binaryVersion is the kube-proxy version whose feature gate defaults apply.
var binaryVersion = version.MustParse("1.37")

// NewFeatureGate returns a feature gate that knows exactly the gates
// kube-proxy v1.37.2 knows, with their defaults, locks and dependencies, in
// the order kube-proxy registers them: client-go's, pkg/features',
// component-base's zpages, metrics and logging gates.
func NewFeatureGate() (featuregate.MutableVersionedFeatureGate, error) {
	g := featuregate.NewVersionedFeatureGate(binaryVersion)
	steps := []struct {
		what string
		add  func() error
	}{
		{"client-go", func() error { return clientfeatures.AddVersionedFeaturesToExistingFeatureGates(clientGates{g}) }},
		{"kubernetes", func() error { return g.AddVersioned(kubernetesFeatureGates) }},
		{"kubernetes dependencies", func() error { return g.AddDependencies(kubernetesFeatureGateDependencies) }},
		{"zpages", func() error { return zpagesfeatures.AddFeatureGates(g) }},
		{"metrics", func() error { return metricsfeatures.AddFeatureGates(g) }},
		{"logging", func() error { return logsapi.AddFeatureGates(g) }},
	}
	for _, s := range steps {
		if err := s.add(); err != nil {
			return nil, fmt.Errorf("register %s feature gates: %w", s.what, err)
		}
	}
	return g, nil
}

// clientGates registers client-go's gates on a component-base gate.
type clientGates struct {
	g featuregate.MutableVersionedFeatureGate
}

func (c clientGates) AddVersioned(in map[clientfeatures.Feature]clientfeatures.VersionedSpecs) error {
	out := make(map[featuregate.Feature]featuregate.VersionedSpecs, len(in))
	for name, specs := range in {
		converted := make(featuregate.VersionedSpecs, len(specs))
		for i, s := range specs {
			converted[i] = featuregate.FeatureSpec{Default: s.Default, LockToDefault: s.LockToDefault, Version: s.Version}
			switch s.PreRelease {
			case clientfeatures.Alpha:
				converted[i].PreRelease = featuregate.Alpha
			case clientfeatures.Beta:
				converted[i].PreRelease = featuregate.Beta
			case clientfeatures.GA:
				converted[i].PreRelease = featuregate.GA
			case clientfeatures.Deprecated:
				converted[i].PreRelease = featuregate.Deprecated
			default:
				return fmt.Errorf("gate %s: unknown maturity %q", name, s.PreRelease)
			}
		}
		out[featuregate.Feature(name)] = converted
	}
	return c.g.AddVersioned(out)
}

// featureGateFor returns kube-proxy's feature gate set from m, with
// kube-proxy's errors for unknown and locked gates, and its warnings about
// deprecated or GA gates.
func featureGateFor(m map[string]bool) (featuregate.MutableVersionedFeatureGate, []string, error) {
	g, err := NewFeatureGate()
	if err != nil {
		return nil, nil, err
	}
	sink := &warningSink{}
	if err := g.(featuregate.MutableFeatureGateWithLogger).SetFromMapWithLogger(logr.New(sink), m); err != nil {
		return nil, nil, err
	}
	return g, sink.lines, nil
}

// warningSink keeps the messages the feature gate logs at level 0.
type warningSink struct{ lines []string }

func (s *warningSink) Init(logr.RuntimeInfo)  {}
func (s *warningSink) Enabled(level int) bool { return level == 0 }
func (s *warningSink) Info(_ int, msg string, kv ...any) {
	line := "feature gates: " + strings.TrimPrefix(msg, "Warning: ")
	for i := 0; i+1 < len(kv); i += 2 {
		line += fmt.Sprintf(" %v=%v", kv[i], kv[i+1])
	}
	s.lines = append(s.lines, line)
}
func (s *warningSink) Error(err error, msg string, kv ...any) { s.Info(0, msg+": "+err.Error(), kv...) }
func (s *warningSink) WithValues(...any) logr.LogSink         { return s }
func (s *warningSink) WithName(string) logr.LogSink           { return s }

func featureName(s string) featuregate.Feature { return featuregate.Feature(s) }
