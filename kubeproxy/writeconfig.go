package kubeproxy

import (
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// WriteConfig writes s.Config, the effective configuration, as a
// kubeproxy.config.k8s.io/v1alpha1 YAML document, like kube-proxy's
// --write-config-to. LoadConfigFile reads it back to the same Settings.
func WriteConfig(w io.Writer, s *Settings) error {
	c := s.Config.DeepCopy()
	c.APIVersion, c.Kind = configAPIVersion, configKind
	out, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode kube-proxy configuration: %w", err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write kube-proxy configuration: %w", err)
	}
	return nil
}
