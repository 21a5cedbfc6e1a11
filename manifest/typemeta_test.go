package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTypeMetaKeysAreCaseSensitive: `Kind` and `APIVersion` are unknown
// fields, not the type (as for the API server), on the streamed and the
// whole-file path alike. A case-insensitive decoding took the item below
// for a Node (the last matching key wins) and its sibling for a v2 object.
func TestTypeMetaKeysAreCaseSensitive(t *testing.T) {
	const list = `{"kind":"List","apiVersion":"v1","items":[
{"apiVersion":"v1","kind":"Service","Kind":"Node","metadata":{"name":"a"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":80}]}},
{"apiVersion":"v1","APIVersion":"v2","kind":"Service","metadata":{"name":"b"},"spec":{"clusterIP":"10.96.0.2","ports":[{"port":80}]}}
]}`
	path := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(path, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	var streamed, whole Loader
	fromFile, err := streamed.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := whole.Read(path, strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]int{"streamed": len(fromFile.Services), "whole": len(fromReader.Services)} {
		if in != 2 {
			t.Errorf("%s: %d Services, want 2 (Kind/APIVersion are not the type)", name, in)
		}
	}
	if len(fromFile.Nodes)+len(fromReader.Nodes) != 0 {
		t.Errorf("a Node was read from a `Kind` key")
	}
}
