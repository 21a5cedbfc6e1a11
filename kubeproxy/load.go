package kubeproxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/kube-proxy/config/v1alpha1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	configAPIVersion = "kubeproxy.config.k8s.io/v1alpha1"
	configKind       = "KubeProxyConfiguration"
)

// LoadConfigFile reads a KubeProxyConfiguration (YAML or JSON) strictly: an
// unknown, misspelled or duplicated field is an error that names it and the
// file. kube-proxy v1.37 would retry leniently and only log; svcnat refuses,
// because a misspelled field silently keeps its default. The result is not
// defaulted.
func LoadConfigFile(path string) (*v1alpha1.KubeProxyConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kube-proxy configuration: %w", err)
	}
	c, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("kube-proxy configuration %s: %w", path, err)
	}
	return c, nil
}

func decodeConfig(data []byte) (*v1alpha1.KubeProxyConfiguration, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &meta); err != nil {
		return nil, fmt.Errorf("not a KubeProxyConfiguration object: %w", err)
	}
	switch {
	case meta.Kind == "" || meta.APIVersion == "":
		return nil, fmt.Errorf("apiVersion and kind must be set (apiVersion: %s, kind: %s)", configAPIVersion, configKind)
	case meta.Kind != configKind || meta.APIVersion != configAPIVersion:
		return nil, fmt.Errorf("got apiVersion %q kind %q, want apiVersion %s kind %s", meta.APIVersion, meta.Kind, configAPIVersion, configKind)
	}
	c := &v1alpha1.KubeProxyConfiguration{}
	strictErrs, err := kjson.UnmarshalStrict(js, c)
	if err != nil {
		return nil, err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s (svcnat decodes strictly: fix or remove the field)", strings.Join(msgs, "; "))
	}
	return c, nil
}
