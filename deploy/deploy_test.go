package deploy

import (
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	"sigs.k8s.io/yaml"
)

// variant is one thing `kubectl kustomize` renders and what it must say.
type variant struct {
	dir  string
	mode string
	caps []corev1.Capability
}

var variants = []variant{
	{dir: ".", mode: "nftables", caps: []corev1.Capability{"NET_ADMIN"}},
	{dir: "base", mode: "nftables", caps: []corev1.Capability{"NET_ADMIN"}},
	{dir: "overlays/nftables", mode: "nftables", caps: []corev1.Capability{"NET_ADMIN"}},
	{dir: "overlays/iptables", mode: "iptables", caps: []corev1.Capability{"NET_ADMIN", "NET_RAW"}},
}

// Service account files the kubelet mounts into every pod.
const (
	saToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	saCA    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

func TestRender(t *testing.T) {
	for _, v := range variants {
		t.Run(v.dir, func(t *testing.T) {
			o, err := Render(v.dir)
			if err != nil {
				t.Fatal(err)
			}
			checkPodSpec(t, o)
			checkSecurity(t, o, v.caps)
			checkImage(t, o)
			cfg := checkConfig(t, o, v.mode)
			checkKubeconfig(t, o, cfg.ClientConnection.Kubeconfig)
			checkRBAC(t, o)
		})
	}
}

func checkPodSpec(t *testing.T, o *Objects) {
	t.Helper()
	ds := o.DaemonSet
	spec := ds.Spec.Template.Spec
	if ds.Namespace != "kube-system" || o.ConfigMap.Namespace != "kube-system" || o.ServiceAccount.Namespace != "kube-system" {
		t.Errorf("namespaces %q %q %q, want kube-system", ds.Namespace, o.ConfigMap.Namespace, o.ServiceAccount.Namespace)
	}
	if !spec.HostNetwork || spec.ServiceAccountName != o.ServiceAccount.Name {
		t.Errorf("want hostNetwork and service account %q, got %v %q", o.ServiceAccount.Name, spec.HostNetwork, spec.ServiceAccountName)
	}
	if spec.AutomountServiceAccountToken != nil && !*spec.AutomountServiceAccountToken {
		t.Error("the kubeconfig reads the service account token, but it is not mounted")
	}
	// No cluster DNS: it is a Service, which this pod has to program first.
	if spec.DNSPolicy != corev1.DNSDefault {
		t.Errorf("dnsPolicy %q, want Default (the node's resolver)", spec.DNSPolicy)
	}
	if spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName %q", spec.PriorityClassName)
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool { return t.Operator == corev1.TolerationOpExists && t.Key == "" }) {
		t.Errorf("tolerations %v: want one that tolerates every taint", spec.Tolerations)
	}
	c := o.Container()
	if c == nil {
		t.Fatal("no container named svcnat")
	}
	if !slices.Contains(c.Command, "--hostname-override=$(NODE_NAME)") || !nodeNameFromSpec(c.Env) {
		t.Errorf("command %v env %v: want --hostname-override=$(NODE_NAME) from spec.nodeName", c.Command, c.Env)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request", r)
		}
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/livez" || c.ReadinessProbe == nil {
		t.Error("want a /livez liveness probe and a readiness probe")
	}
	checkHostPath(t, o, "/run/xtables.lock", corev1.HostPathFileOrCreate, false)
	checkHostPath(t, o, "/lib/modules", "", true)
}

func nodeNameFromSpec(env []corev1.EnvVar) bool {
	return slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
		return e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
	})
}

// checkHostPath: the host's path is mounted at the same path.
func checkHostPath(t *testing.T, o *Objects, p string, typ corev1.HostPathType, readOnly bool) {
	t.Helper()
	vol, mount := o.Mount(p)
	if vol == nil || vol.HostPath == nil || vol.HostPath.Path != p {
		t.Errorf("%s: want the host's %s mounted", p, p)
		return
	}
	if typ != "" && (vol.HostPath.Type == nil || *vol.HostPath.Type != typ) {
		t.Errorf("%s: hostPath type %v, want %s", p, vol.HostPath.Type, typ)
	}
	if mount.ReadOnly != readOnly {
		t.Errorf("%s: readOnly %v, want %v", p, mount.ReadOnly, readOnly)
	}
}

func checkSecurity(t *testing.T, o *Objects, caps []corev1.Capability) {
	t.Helper()
	sc := o.Container().SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no securityContext with capabilities")
	}
	if got := sc.Capabilities.Add; !slices.Equal(got, caps) {
		t.Errorf("capabilities %v, want exactly %v", got, caps)
	}
	if got := sc.Capabilities.Drop; !slices.Equal(got, []corev1.Capability{"ALL"}) {
		t.Errorf("dropped capabilities %v, want ALL", got)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("want allowPrivilegeEscalation: false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("want readOnlyRootFilesystem: true")
	}
	seccomp := sc.SeccompProfile
	if pod := o.DaemonSet.Spec.Template.Spec.SecurityContext; seccomp == nil && pod != nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %v, want RuntimeDefault", seccomp)
	}
}

// checkImage: the image is the release in ../VERSION, never a moving tag.
func checkImage(t *testing.T, o *Objects) {
	t.Helper()
	data, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(data))
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(version) {
		t.Fatalf("VERSION %q is not vMAJOR.MINOR.PATCH", version)
	}
	image := o.Container().Image
	if want := "ghcr.io/svcnat/svcnat:" + version; image != want {
		t.Errorf("image %q, want %q", image, want)
	}
	if p := o.Container().ImagePullPolicy; p != "" && p != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %q: a versioned tag needs no Always", p)
	}
}

// checkConfig: --config names config.conf in the mounted ConfigMap, a
// KubeProxyConfiguration in the variant's mode.
func checkConfig(t *testing.T, o *Objects, mode string) *kubeproxyv1alpha1.KubeProxyConfiguration {
	t.Helper()
	var file string
	for _, arg := range o.Container().Command {
		if v, ok := strings.CutPrefix(arg, "--config="); ok {
			file = v
		}
	}
	data := o.ConfigMapFile(file)
	if data == "" {
		t.Fatalf("--config=%q is not a key of the mounted ConfigMap %s", file, o.ConfigMap.Name)
	}
	var cfg kubeproxyv1alpha1.KubeProxyConfiguration
	if err := yaml.UnmarshalStrict([]byte(data), &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if cfg.APIVersion != "kubeproxy.config.k8s.io/v1alpha1" || cfg.Kind != "KubeProxyConfiguration" {
		t.Errorf("%s: %s %s, want a kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration", file, cfg.APIVersion, cfg.Kind)
	}
	if string(cfg.Mode) != mode {
		t.Errorf("%s: mode %q, want %q", file, cfg.Mode, mode)
	}
	if cfg.ClusterCIDR == "" {
		t.Errorf("%s: no clusterCIDR", file)
	}
	return &cfg
}

// checkKubeconfig: the API server is reached by the control-plane endpoint
// (not the kubernetes Service, which needs a proxy's rules) with the pod's
// service account.
func checkKubeconfig(t *testing.T, o *Objects, file string) {
	t.Helper()
	data := o.ConfigMapFile(file)
	if data == "" {
		t.Fatalf("clientConnection.kubeconfig %q is not a key of the mounted ConfigMap", file)
	}
	var kc clientcmdv1.Config
	if err := yaml.UnmarshalStrict([]byte(data), &kc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var ctx *clientcmdv1.Context
	for i := range kc.Contexts {
		if kc.Contexts[i].Name == kc.CurrentContext {
			ctx = &kc.Contexts[i].Context
		}
	}
	if ctx == nil {
		t.Fatalf("%s: no current context %q", file, kc.CurrentContext)
	}
	for _, c := range kc.Clusters {
		if c.Name != ctx.Cluster {
			continue
		}
		u, err := url.Parse(c.Cluster.Server)
		if err != nil || u.Scheme != "https" || u.Port() == "" {
			t.Errorf("%s: server %q, want https://HOST:PORT", file, c.Cluster.Server)
		} else if h := u.Hostname(); h == "kubernetes" || strings.HasPrefix(h, "kubernetes.default") || net.ParseIP(h) != nil && strings.HasPrefix(h, "10.96.") {
			t.Errorf("%s: server %q is the kubernetes Service, reachable only through a proxy's rules", file, h)
		}
		if c.Cluster.CertificateAuthority != saCA {
			t.Errorf("%s: certificate-authority %q, want %s", file, c.Cluster.CertificateAuthority, saCA)
		}
	}
	for _, u := range kc.AuthInfos {
		if u.Name == ctx.AuthInfo && u.AuthInfo.TokenFile != saToken {
			t.Errorf("%s: tokenFile %q, want %s", file, u.AuthInfo.TokenFile, saToken)
		}
	}
}

// checkRBAC: read-only but events, bound to the DaemonSet's account.
func checkRBAC(t *testing.T, o *Objects) {
	t.Helper()
	for _, r := range o.ClusterRole.Rules {
		events := slices.Contains(r.Resources, "events")
		for _, v := range r.Verbs {
			if !events && !slices.Contains([]string{"get", "list", "watch"}, v) {
				t.Errorf("rule %v grants %q: only events may be written", r.Resources, v)
			}
		}
	}
	b := o.ClusterRoleBinding
	if b.RoleRef.Name != o.ClusterRole.Name || len(b.Subjects) != 1 ||
		b.Subjects[0].Name != o.ServiceAccount.Name || b.Subjects[0].Namespace != o.ServiceAccount.Namespace {
		t.Errorf("binding %v -> %v does not bind the role to the service account", b.Subjects, b.RoleRef)
	}
}

func TestConfigMapFileOutsideMount(t *testing.T) {
	o, err := Render("base")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.ConfigMapFile("/etc/config.conf"); got != "" {
		t.Errorf("a path outside the mount resolved to %q", got)
	}
	if got := o.ConfigMapFile(path.Join(configMount(t, o), "nothing.conf")); got != "" {
		t.Errorf("a missing key resolved to %q", got)
	}
}

func configMount(t *testing.T, o *Objects) string {
	for _, m := range o.Container().VolumeMounts {
		if vol := o.Volume(m.Name); vol != nil && vol.ConfigMap != nil {
			return m.MountPath
		}
	}
	t.Fatal("no ConfigMap mount")
	return ""
}
