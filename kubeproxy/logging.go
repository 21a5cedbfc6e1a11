package kubeproxy

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logsapi "k8s.io/component-base/logs/api/v1"

	// The json log format, as in kube-proxy's main: --logging-format=json.
	_ "k8s.io/component-base/logs/json/register"
)

// copyLoggingFlags gives the logging flags given on the command line
// priority over the file's logging section, like kube-proxy: each changed
// flag replaces its field, and --vmodule's entries come before the file's.
func copyLoggingFlags(from *pflag.FlagSet, to *logsapi.LoggingConfiguration) error {
	var clone pflag.FlagSet
	logsapi.AddFlags(to, &clone)
	fileVModule := to.VModule
	to.VModule = nil
	var err error
	clone.VisitAll(func(f *pflag.Flag) {
		given := from.Lookup(f.Name)
		if err != nil || given == nil || !given.Changed {
			return
		}
		if setErr := f.Value.Set(given.Value.String()); setErr != nil {
			err = fmt.Errorf("logging flag --%s: %w", f.Name, setErr)
		}
	})
	to.VModule = append(to.VModule, fileVModule...)
	return err
}

// ApplyLogging validates s.Logging against kube-proxy's feature gates (the
// alpha options need LoggingAlphaOptions) and makes it klog's configuration:
// format (text or json), verbosity, vmodule, flush frequency. Call it once,
// early: like kube-proxy, a second call is an error.
func ApplyLogging(s *Settings) error {
	gates, _, err := featureGateFor(s.FeatureGates)
	if err != nil {
		return fmt.Errorf("feature gates: %w", err)
	}
	if err := logsapi.ValidateAndApplyAsField(&s.Logging, gates, field.NewPath("logging")); err != nil {
		return fmt.Errorf("initialize logging: %w", err)
	}
	return nil
}
