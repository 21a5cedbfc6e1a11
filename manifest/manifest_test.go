package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/synth"
)

// summary lists the objects of in as "Kind namespace/name", in order.
func summary(in synth.Input) []string {
	var out []string
	for _, s := range in.Services {
		out = append(out, "Service "+s.Namespace+"/"+s.Name)
	}
	for _, e := range in.EndpointSlices {
		out = append(out, "EndpointSlice "+e.Namespace+"/"+e.Name)
	}
	for _, n := range in.Nodes {
		out = append(out, "Node "+n.Name)
	}
	return out
}

func ignoredSummary(ign []Ignored) []string {
	var out []string
	for _, i := range ign {
		out = append(out, i.String())
	}
	return out
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		paths   []string
		want    []string
		ignored []string
	}{{
		name:  "kubectl list",
		paths: []string{"testdata/kubectl-list.yaml"},
		want:  []string{"Service shop/web", "Service default/kubernetes", "EndpointSlice shop/web-x7k2p", "Node node-1"},
	}, {
		name:  "multi-document YAML",
		paths: []string{"testdata/multi.yaml"},
		want:  []string{"Service hand/web", "EndpointSlice hand/web-1"},
		ignored: []string{
			"testdata/multi.yaml:4: ignored apps/v1 Deployment hand/web",
			"testdata/multi.yaml:33: ignored v1 ConfigMap settings",
		},
	}, {
		name:  "typed JSON list without item kinds",
		paths: []string{"testdata/servicelist.json"},
		want:  []string{"Service shop/web", "Service shop/db"},
	}, {
		name:    "JSON stream",
		paths:   []string{"testdata/stream.json"},
		want:    []string{"EndpointSlice shop/web-1", "Node node-1"},
		ignored: []string{"testdata/stream.json:2: ignored v1 Pod shop/web-1"},
	}, {
		name:  "hostile names are data",
		paths: []string{"testdata/hostile.yaml"},
		want:  []string{"Service $(reboot)/web; rm -rf / #"},
	}, {
		name:  "several files keep their order",
		paths: []string{"testdata/named-targetport.yaml", "testdata/servicelist.json"},
		want:  []string{"Service default/dns", "Service shop/web", "Service shop/db"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l Loader
			in, err := l.Load(tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(in)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ignored, ignoredSummary(l.Ignored)); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want string // the whole error, or a prefix ending in "..."
	}{
		{"broken-yaml.yaml", "testdata/broken-yaml.yaml:10: yaml: mapping values are not allowed in this context"},
		{"broken-type.yaml", "testdata/broken-type.yaml:8: Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"},
		{"broken-list-item.yaml", "testdata/broken-list-item.yaml:7: Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"},
		{"broken-json.json", "testdata/broken-json.json:7: Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"},
		{"broken-syntax.json", "testdata/broken-syntax.json:4: invalid character '}' looking for beginning of object key string"},
		{"nokind.yaml", "testdata/nokind.yaml:6: document has no kind"},
		{"noapiversion.yaml", "testdata/noapiversion.yaml:1: Service has no apiVersion"},
		{"notobject.yaml", "testdata/notobject.yaml:1: document is not an object"},
		{"duplicate.yaml", "testdata/duplicate.yaml:6: duplicate Service default/web (first at testdata/duplicate.yaml:1)"},
		{"noname.yaml", "testdata/noname.yaml:1: Service has no metadata.name"},
		{"missing.yaml", "testdata/missing.yaml: open: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			in, err := Load(filepath.Join("testdata", tt.path))
			if err == nil {
				t.Fatalf("no error; got %v", summary(in))
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestMissingFileIsNotExist(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/missing.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	in, err := Load("testdata/kubectl-list.yaml", "testdata/multi.yaml", "testdata/named-targetport.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*corev1.Service{}
	for _, s := range in.Services {
		byName[s.Namespace+"/"+s.Name] = s
	}
	web := in.Services[0]
	if web.Kind != "Service" || web.APIVersion != "v1" || web.Spec.Ports[0].NodePort != 30080 ||
		web.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("kubectl Service decoded as %+v", web)
	}
	// Unquoted YAML numbers and booleans in string fields are coerced, as kubectl does.
	hand := in.Services[2]
	if hand.Annotations["version"] != "2" || hand.Annotations["canary"] != "true" || hand.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("hand-written Service decoded as %+v", hand)
	}
	dns := byName["default/dns"]
	if dns == nil {
		t.Fatalf("no default/dns in %v (namespace not defaulted?)", summary(in))
	}
	want := []string{"dns/UDP/53->dns", "dns-tcp/TCP/53->dns-tcp"}
	var got []string
	for _, p := range dns.Spec.Ports {
		got = append(got, fmt.Sprintf("%s/%s/%d->%s", p.Name, p.Protocol, p.Port, p.TargetPort.String()))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("named targetPorts (-want +got):\n%s", diff)
	}
	eps := in.EndpointSlices[0]
	if len(eps.Endpoints) != 2 || *eps.Endpoints[1].Conditions.Terminating != true || *eps.Ports[0].Port != 8080 {
		t.Errorf("EndpointSlice decoded as %+v", eps)
	}
	node := in.Nodes[0]
	if node.Status.Addresses[0].Address != "192.168.1.10" || node.Labels["topology.kubernetes.io/zone"] != "zone-a" {
		t.Errorf("Node decoded as %+v", node)
	}
	// What svcnat never reads is dropped (trim.go).
	if node.Status.Capacity != nil || web.Spec.Selector != nil || hand.Labels != nil {
		t.Errorf("Node capacity %v, Service selector %v or labels %v kept", node.Status.Capacity, web.Spec.Selector, hand.Labels)
	}
}

func TestStdin(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := Loader{Stdin: strings.NewReader(string(src))}
	in, err := l.Load("-")
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(in); !slices.Equal(got, []string{"Service hand/web", "EndpointSlice hand/web-1"}) {
		t.Errorf("got %v", got)
	}
	if len(l.Ignored) != 2 || l.Ignored[0].File != "<stdin>" {
		t.Errorf("ignored %v", l.Ignored)
	}
	bad := &Loader{Stdin: strings.NewReader("kind: [")}
	if _, err := bad.Load("-"); err != nil {
		t.Fatalf("a document that does not parse is not a read error: %v", err)
	}
	if err := bad.Errors; len(err) != 1 || !strings.HasPrefix(err.Error(), "<stdin>:1: yaml: ") {
		t.Errorf("error %v, want one about <stdin>:1", err)
	}
}

func TestReadEmpty(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "\n\n", "# nothing\n---\n---\n", "---\n...\n", "null\n", "[]\n"} {
		in, err := Read("empty.yaml", strings.NewReader(src))
		if src == "[]\n" {
			if err == nil {
				t.Errorf("Read(%q): no error for a top-level array", src)
			}
			continue
		}
		if err != nil || len(summary(in)) != 0 {
			t.Errorf("Read(%q) = %v, %v; want nothing", src, summary(in), err)
		}
	}
}

func TestLoadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svc := func(name string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n", name)
	}
	files := map[string]string{
		"b.yaml":       svc("b"),
		"a.json":       `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}`,
		"c.yml":        svc("c"),
		"10-z.yaml":    svc("z"),
		".hidden.yaml": "not: [valid",
		".#b.yaml":     "not: [valid",
		"b.yaml~":      "not: [valid",
		"notes.txt":    "not: [valid",
		"sub/d.yaml":   svc("d"),
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Service default/z", "Service default/a", "Service default/b", "Service default/c"}
	if diff := cmp.Diff(want, summary(in)); diff != "" {
		t.Errorf("LoadDir (-want +got):\n%s", diff)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir of a missing directory: no error")
	}
}
