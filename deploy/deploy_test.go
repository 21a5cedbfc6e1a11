package deploy

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func documents(t *testing.T, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(data, []byte("\n---\n"))
}

func TestDaemonSet(t *testing.T) {
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(documents(t, "daemonset.yaml")[0], &ds); err != nil {
		t.Fatal(err)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || spec.ServiceAccountName != "svcnat" {
		t.Errorf("want hostNetwork and the svcnat service account, got %v %q", spec.HostNetwork, spec.ServiceAccountName)
	}
	c := spec.Containers[0]
	if got := c.SecurityContext.Capabilities.Add; !slices.Equal(got, []corev1.Capability{"NET_ADMIN"}) {
		t.Errorf("capabilities %v, want only NET_ADMIN", got)
	}
	if !slices.Contains(c.Command, "run") || c.LivenessProbe.HTTPGet.Path != "/livez" {
		t.Errorf("container must run the agent with a /livez probe: %v", c.Command)
	}
}

func TestRBACIsReadOnlyButEvents(t *testing.T) {
	for _, doc := range documents(t, "rbac.yaml") {
		if !strings.Contains(string(doc), "kind: ClusterRole\n") {
			continue
		}
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(doc, &role); err != nil {
			t.Fatal(err)
		}
		for _, r := range role.Rules {
			events := slices.Contains(r.Resources, "events")
			for _, v := range r.Verbs {
				if !events && !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("rule %v grants %q: only events may be written", r.Resources, v)
				}
			}
		}
		return
	}
	t.Fatal("no ClusterRole in rbac.yaml")
}
