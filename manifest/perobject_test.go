package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBadObjectsSkipped: one object with a field of the wrong type, one
// without a name and one duplicate cost only themselves, in every layout;
// each is reported at its FILE:LINE.
func TestBadObjectsSkipped(t *testing.T) {
	multi := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 10.96.0.2, ports: [{port: \"eighty\"}]}\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: x}\nspec: {clusterIP: 10.96.0.3, ports: [{port: 80}]}\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {clusterIP: 10.96.0.4, ports: [{port: 80}]}\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {clusterIP: 10.96.0.5, ports: [{port: 80}]}\n"
	yamlList := "apiVersion: v1\nkind: List\nitems:\n" +
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n" +
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: bad}\n  spec: {clusterIP: 10.96.0.2, ports: [{port: \"eighty\"}]}\n" +
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: c}\n  spec: {clusterIP: 10.96.0.4, ports: [{port: 80}]}\n"
	jsonList := `{"kind": "List", "items": [
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}},
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"}, "spec": {"clusterIP": "10.96.0.2", "ports": [{"port": "eighty"}]}},
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}, "spec": {"clusterIP": "10.96.0.4", "ports": [{"port": 80}]}}
]}
`
	for _, tc := range []struct {
		name, data string
		errs       []string // prefixes
	}{
		{"multi.yaml", multi, []string{"multi.yaml:6: Service: json: cannot unmarshal string", "multi.yaml:11: Service has no metadata.name", "multi.yaml:21: duplicate Service default/c"}},
		{"list.yaml", yamlList, []string{"list.yaml:8: Service: json: cannot unmarshal string"}},
		{"list.json", jsonList, []string{"list.json:3: Service: json: cannot unmarshal string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, how := range []string{"file", "stdin"} {
				l := Loader{Stdin: strings.NewReader(tc.data)}
				arg := path
				if how == "stdin" {
					arg = "-"
				}
				in, err := l.Load(arg)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if got := summary(in); !slices.Equal(got, []string{"Service default/a", "Service default/c"}) {
					t.Errorf("%s: objects %v, want a and c", how, got)
				}
				if len(l.Errors) != len(tc.errs) {
					t.Fatalf("%s: errors %v, want %d", how, l.Errors, len(tc.errs))
				}
				for i, want := range tc.errs {
					got := l.Errors[i].Error()
					if how == "stdin" {
						want = strings.Replace(want, tc.name, stdinName, 1)
					} else {
						got = strings.TrimPrefix(got, filepath.Dir(path)+"/")
					}
					if !strings.HasPrefix(got, want) {
						t.Errorf("%s: error %d: %q, want %q...", how, i, got, want)
					}
				}
			}
		})
	}
}

func TestFileSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(strings.Repeat("# junk\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{path, "-"} {
		l := Loader{MaxFileBytes: 1000, Stdin: strings.NewReader(strings.Repeat("x", 2000))}
		if _, err := l.Load(arg); err != nil {
			t.Fatal(err)
		}
		if len(l.Errors) != 1 || !strings.Contains(l.Errors[0].Error(), "larger than 1000 bytes") {
			t.Errorf("%s: errors %v, want one about the size", arg, l.Errors)
		}
	}
}

// TestBadDocumentCostsOnlyItself: a document that is JSON but not an
// object (found by FuzzBuild: "[") dropped the whole file.
func TestBadDocumentCostsOnlyItself(t *testing.T) {
	for _, bad := range []string{"[", "[1, 2]", "\"text\"", "{\"kind\": "} {
		var l Loader
		in, err := l.Read("x.yaml", strings.NewReader(
			"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n---\n"+bad))
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(in); !slices.Equal(got, []string{"Service default/a"}) || len(l.Errors) != 1 {
			t.Errorf("%q: objects %v, errors %v; want Service a and one error", bad, got, l.Errors)
		}
	}
}
