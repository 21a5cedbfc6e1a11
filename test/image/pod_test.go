//go:build image

package image

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/deploy"
	"github.com/svcnat/svcnat/internal/labtest"
)

// nodeName is the lab node's name, spec.nodeName for the pod.
const nodeName = "node-1"

// manifestsDir is where the tests mount their Service files in the
// container; the lab has no API server.
const manifestsDir = "/etc/svcnat/manifests"

// render renders one overlay of deploy/.
func render(t *testing.T, overlay string) *deploy.Objects {
	t.Helper()
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	o, err := deploy.Render(filepath.Join(root, "deploy", "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// podLaunch is the DaemonSet's container as the kubelet would start it on
// node-1: its volumes (the ConfigMap's files written out, a private
// /run/xtables.lock, the host's other paths), /proc, /dev, a read-only /sys,
// the manifest folder, its capabilities, the image's environment plus the
// container's, and argv the container's command with $(VAR) expanded.
func podLaunch(t *testing.T, o *deploy.Objects, manifests string) launch {
	t.Helper()
	c := o.Container()
	l := launch{
		Root: built.rootfs,
		Mounts: []mount{
			{Type: "proc", Target: "/proc"},
			{Type: "dev", Target: "/dev"},
			{Type: "sysfs", Target: "/sys", ReadOnly: true},
			{Type: "bind", Source: manifests, Target: manifestsDir, ReadOnly: true},
		},
		Env: append([]string(nil), built.env...),
	}
	for _, m := range c.VolumeMounts {
		l.Mounts = append(l.Mounts, volumeMount(t, o, m))
	}
	for _, cap := range c.SecurityContext.Capabilities.Add {
		l.Caps = append(l.Caps, string(cap))
	}
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			v = nodeName
		}
		env[e.Name] = v
		l.Env = append(l.Env, e.Name+"="+v)
	}
	for _, arg := range append(append([]string(nil), c.Command...), c.Args...) {
		l.Argv = append(l.Argv, expand(arg, env))
	}
	return l
}

// volumeMount turns one of the container's volume mounts into a mount.
func volumeMount(t *testing.T, o *deploy.Objects, m corev1.VolumeMount) mount {
	t.Helper()
	vol := o.Volume(m.Name)
	if vol == nil {
		t.Fatalf("volume mount %s: no such volume", m.Name)
	}
	switch {
	case vol.ConfigMap != nil:
		if vol.ConfigMap.Name != o.ConfigMap.Name {
			t.Fatalf("volume %s: ConfigMap %s is not rendered (%s is)", m.Name, vol.ConfigMap.Name, o.ConfigMap.Name)
		}
		dir := t.TempDir()
		for key, data := range o.ConfigMap.Data {
			if err := os.WriteFile(filepath.Join(dir, key), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return mount{Type: "bind", Source: dir, Target: m.MountPath, ReadOnly: m.ReadOnly}
	case vol.HostPath != nil && vol.HostPath.Type != nil && *vol.HostPath.Type == corev1.HostPathFileOrCreate:
		// A file of the test's own: the host's lock is not the lab's business.
		f := filepath.Join(t.TempDir(), filepath.Base(vol.HostPath.Path))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return mount{Type: "bind", Source: f, Target: m.MountPath, File: true, ReadOnly: m.ReadOnly}
	case vol.HostPath != nil && vol.HostPath.Type != nil && *vol.HostPath.Type == corev1.HostPathDirectoryOrCreate:
		// A folder of the test's own (svcnat's lock): the host's is not the lab's business.
		return mount{Type: "bind", Source: t.TempDir(), Target: m.MountPath, ReadOnly: m.ReadOnly}
	case vol.HostPath != nil:
		src := vol.HostPath.Path
		if _, err := os.Stat(src); err != nil {
			// A node without it (a container as CI machine has no
			// /lib/modules): an empty folder stands in.
			t.Logf("volume %s: %v; mounting an empty folder", m.Name, err)
			src = t.TempDir()
		}
		return mount{Type: "bind", Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly}
	}
	t.Fatalf("volume %s: only configMap and hostPath volumes are known here", m.Name)
	return mount{}
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) by the container's variable, as the kubelet does
// with command and args.
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := env[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}
