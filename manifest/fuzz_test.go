package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzStreamMatchesWhole: a .json file read by Load (streamed when it is
// one List) and the same bytes read whole by Read give the same objects,
// the same ignored objects and the same errors, and reading never panics.
func FuzzStreamMatchesWhole(f *testing.F) {
	f.Add([]byte(`{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":80}]}}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var whole, streamed Loader
		want, wantErr := whole.Read(path, strings.NewReader(string(data)))
		got, gotErr := streamed.Load(path)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("read errors differ: whole %v, streamed %v", wantErr, gotErr)
		}
		if diff := cmp.Diff(errText(whole.Errors), errText(streamed.Errors)); diff != "" {
			t.Fatalf("object errors differ (-whole +streamed):\n%s", diff)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("objects differ (-whole +streamed):\n%s", diff)
		}
		if diff := cmp.Diff(whole.Ignored, streamed.Ignored); diff != "" {
			t.Fatalf("ignored differ (-whole +streamed):\n%s", diff)
		}
		for _, e := range whole.Errors {
			if strings.ContainsAny(e.Error(), "\n\r\x1b") {
				t.Fatalf("error is not one clean line: %q", e.Error())
			}
		}
	})
}
