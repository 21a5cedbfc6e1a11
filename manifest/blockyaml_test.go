package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// checkBlockYAML fails when blockYAMLToJSON accepts data but its JSON
// means something other than what sigs.k8s.io/yaml makes of data. It
// reports whether the fast path accepted data.
func checkBlockYAML(t *testing.T, data []byte) bool {
	t.Helper()
	got, ok := blockYAMLToJSON(data)
	if !ok {
		return false
	}
	want, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("fast path accepted what YAML rejects (%v):\n%s", err, data)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("fast path wrote invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("sigs.k8s.io/yaml wrote invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("YAML:\n%s\nfast path: %s\nsigs.k8s.io/yaml: %s", data, got, want)
	}
	return true
}

// blockYAMLCases are documents in kubectl's style (fast) and documents the
// fast path must leave to the YAML parser.
var blockYAMLCases = []struct {
	name, yaml string
	fast       bool
}{
	{"service", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    app.kubernetes.io/name: web\nspec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 80\n    protocol: TCP\n    targetPort: 8080\n  - name: dns\n    port: -1\nstatus:\n  loadBalancer: {}\n", true},
	{"nested sequences and quotes", "a:\n  - x\n  -\n    b: 'it''s'\n  - \"q\"\n  - 'c:\\d'\nempty:\nlist: []\n# comment\n\nz: null\nt: true\n", false},
	{"quoted", "a: \"10\"\nb: 'x: y'\nc: \"\"\nd: ''\n", true},
	{"blank lines and comments", "# head\na: 1\n\n  # indented comment\nb:\n- c\n", true},
	{"compact mapping with wide dash", "items:\n-   a: 1\n    b: 2\n- c\n", true},
	{"null values", "a:\nb:\n  c:\n", true},
	{"yes is a boolean", "a: yes\n", false},
	{"On is a boolean", "a: On\n", false},
	{"float", "a: 1.5\n", false},
	{"octal-looking", "a: 010\n", false},
	{"underscore int", "a: 1_000\n", false},
	{"timestamp", "a: 2001-12-14\n", false},
	{"flow mapping", "a: {b: 1}\n", false},
	{"anchor", "a: &x 1\nb: *x\n", false},
	{"literal", "a: |\n  {\"x\": 1}\n    more \n", true},
	{"literal with a blank line", "a: |\n  x\n\n  y\n", false},
	{"literal with a comment", "a: |\n  x\n  # y\n", false},
	{"folded", "a: >\n  text\n", false},
	{"stripped literal", "a: |-\n  text\n", false},
	{"trailing comment", "a: b # c\n", false},
	{"continued scalar", "a: b\n  c\n", false},
	{"escape", "a: \"\\t\"\n", false},
	{"tab", "a:\tb\n", false},
	{"non-ASCII", "a: é\n", false},
	{"duplicate key", "a: 1\na: 2\n", false},
	{"bad indentation", "a:\n    b: 1\n  c: 2\n", false},
	{"mapping value in scalar", "a: b: c\n", false},
	{"scalar document", "hello\n", false},
	{"addresses", "a: 10.244.1.0/24\nb: 2001:db8::1\nc: 2001:db8::/64\nd: fd00::1\n", true},
	{"base 60", "a: 1:30\n", false},
	{"quantities", "cpu: 100m\nmemory: 8Gi\npods: 1k\n", true},
	{"hex", "a: 0x1f\n", false},
	{"exponent", "a: 1e3\n", false},
	{"uid", "uid: 1d2c3b4a-0000-4000-8000-000000000001\n", true},
	{"indented document", "  a: 1\n", false},
	{"big int", "a: 12345678901234567890\n", false},
	{"key that is a boolean", "y: 1\n", false},
	{"quoted key", "\"a\": 1\n", false},
	{"nested dash", "- - a\n", false},
}

func TestBlockYAMLMatchesYAML(t *testing.T) {
	for _, c := range blockYAMLCases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkBlockYAML(t, []byte(c.yaml)); got != c.fast {
				t.Errorf("fast path taken: %v, want %v", got, c.fast)
			}
		})
	}
}

// TestBlockYAMLTestdata checks every document of the test manifests, and
// that kubectl's output takes the fast path.
func TestBlockYAMLTestdata(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test manifests: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range splitDocs(data) {
			fast := checkBlockYAML(t, d.data)
			if filepath.Base(path) == "kubectl-list.yaml" && !fast {
				t.Errorf("%s:%d: kubectl output took the slow path", path, d.line)
			}
		}
	}
}

// FuzzBlockYAMLMatchesYAML: whatever the fast path accepts, it converts
// as sigs.k8s.io/yaml does.
func FuzzBlockYAMLMatchesYAML(f *testing.F) {
	for _, c := range blockYAMLCases {
		f.Add([]byte(c.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkBlockYAML(t, data) })
}
