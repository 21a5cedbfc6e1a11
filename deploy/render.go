package deploy

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Objects are the rendered manifests of one kustomization, decoded strictly
// into their API types: any field the types do not know is an error.
type Objects struct {
	DaemonSet          *appsv1.DaemonSet
	ConfigMap          *corev1.ConfigMap
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
}

// Render runs kustomize on dir (deploy/, deploy/base or an overlay), as
// `kubectl kustomize dir` does, and decodes what it prints. It expects one
// object of each kind of Objects and nothing else.
func Render(dir string) (*Objects, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	var o Objects
	for _, r := range resources.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		if err := o.decode(r.GetKind(), data); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", dir, r.GetKind(), r.GetName(), err)
		}
	}
	if missing := o.missing(); len(missing) > 0 {
		return nil, fmt.Errorf("%s renders no %s", dir, strings.Join(missing, ", "))
	}
	return &o, nil
}

// decode stores one object in the field of its kind.
func (o *Objects) decode(kind string, data []byte) error {
	var target any
	switch kind {
	case "DaemonSet":
		o.DaemonSet = &appsv1.DaemonSet{}
		target = o.DaemonSet
	case "ConfigMap":
		o.ConfigMap = &corev1.ConfigMap{}
		target = o.ConfigMap
	case "ServiceAccount":
		o.ServiceAccount = &corev1.ServiceAccount{}
		target = o.ServiceAccount
	case "ClusterRole":
		o.ClusterRole = &rbacv1.ClusterRole{}
		target = o.ClusterRole
	case "ClusterRoleBinding":
		o.ClusterRoleBinding = &rbacv1.ClusterRoleBinding{}
		target = o.ClusterRoleBinding
	default:
		return fmt.Errorf("unexpected kind")
	}
	return yaml.UnmarshalStrict(data, target)
}

func (o *Objects) missing() []string {
	var m []string
	for kind, present := range map[string]bool{
		"DaemonSet": o.DaemonSet != nil, "ConfigMap": o.ConfigMap != nil, "ServiceAccount": o.ServiceAccount != nil,
		"ClusterRole": o.ClusterRole != nil, "ClusterRoleBinding": o.ClusterRoleBinding != nil,
	} {
		if !present {
			m = append(m, kind)
		}
	}
	return m
}

// Container returns the DaemonSet's svcnat container.
func (o *Objects) Container() *corev1.Container {
	for i := range o.DaemonSet.Spec.Template.Spec.Containers {
		if c := &o.DaemonSet.Spec.Template.Spec.Containers[i]; c.Name == "svcnat" {
			return c
		}
	}
	return nil
}

// Volume returns the pod's volume named name, or nil.
func (o *Objects) Volume(name string) *corev1.Volume {
	for i, v := range o.DaemonSet.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &o.DaemonSet.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// Mount returns the volume mounted at mountPath in the container, and the
// mount; nil when nothing is.
func (o *Objects) Mount(mountPath string) (*corev1.Volume, *corev1.VolumeMount) {
	c := o.Container()
	for i, m := range c.VolumeMounts {
		if m.MountPath == mountPath {
			return o.Volume(m.Name), &c.VolumeMounts[i]
		}
	}
	return nil, nil
}

// ConfigMapFile returns what the container reads at file when the kubelet
// projects the rendered ConfigMap into its mount: the key's data, or ""
// when file is not in a mount of that ConfigMap.
func (o *Objects) ConfigMapFile(file string) string {
	for _, m := range o.Container().VolumeMounts {
		vol := o.Volume(m.Name)
		if vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != o.ConfigMap.Name {
			continue
		}
		if dir, key := path.Split(file); path.Clean(dir) == path.Clean(m.MountPath) {
			return o.ConfigMap.Data[key]
		}
	}
	return ""
}
