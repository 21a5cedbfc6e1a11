package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadLayouts covers YAML layouts beyond what kubectl writes.
func TestReadLayouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []string
	}{{
		name: "flow-style YAML that is not JSON",
		src:  "{apiVersion: v1, kind: Service, metadata: {name: a}}\n",
		want: []string{"Service default/a"},
	}, {
		name: "typed YAML list without item kinds",
		src:  "apiVersion: v1\nkind: NodeList\nitems:\n- metadata:\n    name: n1\n- metadata:\n    name: n2\n",
		want: []string{"Node n1", "Node n2"},
	}, {
		name: "indented items",
		src:  "kind: List\napiVersion: v1\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata:\n      name: a\n\n  # a comment\n  - apiVersion: v1\n    kind: Service\n    metadata:\n      name: b\n",
		want: []string{"Service default/a", "Service default/b"},
	}, {
		name: "anchors across items fall back to parsing the whole list",
		src:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: &m\n    name: a\n- apiVersion: v1\n  kind: Node\n  metadata: *m\n",
		want: []string{"Service default/a", "Node a"},
	}, {
		name: "block scalar inside an item",
		src:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n    annotations:\n      note: |\n        - not an item\n        kind: not a key\n",
		want: []string{"Service default/a"},
	}, {
		name: "empty list",
		src:  "apiVersion: v1\nitems: []\nkind: List\n",
	}, {
		name: "null items",
		src:  "apiVersion: v1\nitems:\nkind: List\n",
	}, {
		name: "CRLF and a byte order mark",
		src:  "\xef\xbb\xbfapiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Node\r\nmetadata:\r\n  name: node-a\r\n",
		want: []string{"Service default/a", "Node node-a"},
	}, {
		name: "content after the marker",
		src:  "--- {apiVersion: v1, kind: Node, metadata: {name: node-a}}\n",
		want: []string{"Node node-a"},
	}, {
		name: "JSON values separated by markers",
		src:  "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"}}\n",
		want: []string{"Node n1", "Node n2"},
	}, {
		name: "other versions are ignored",
		src:  "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata:\n  name: old\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := Read("in.yaml", strings.NewReader(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadErrorLines(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"syntax error in a list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: [\n",
			"in.yaml:6: yaml: did not find expected node content"},
		{"kind of the wrong type", `{"apiVersion": "v1", "kind": 5}`,
			"in.yaml:1: kind: json: cannot unmarshal number into Go value of type string"},
		{"truncated JSON", "{\"apiVersion\": \"v1\",\n\"kind\": \"List\", \"items\": [\n{\"kind\": \"Node\"",
			"in.yaml:3: yaml: did not find expected ',' or '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Read("in.yaml", strings.NewReader(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestJSONTypeErrorLines(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"in a list item", "{\n\"apiVersion\": \"v1\",\n\"kind\": \"List\",\n\"items\": [\n{\"kind\": \"Node\"},\n\n{\"apiVersion\": \"v1\",\n \"kind\": 5}\n]}\n",
			"in.json:8: items: json: cannot unmarshal number into Go struct field typeMeta.kind of type string"},
		{"at the top", "\n{\"apiVersion\": \"v1\",\n\n  \"kind\":\n 5}\n",
			"in.json:5: kind: json: cannot unmarshal number into Go value of type string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Read("in.json", strings.NewReader(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}
