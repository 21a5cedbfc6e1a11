package manifest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestFastTypeMeta: the fast path answers for plain objects and leaves to
// the exact one what it could get wrong: keys that differ in case only,
// escapes, non-ASCII bytes and bad JSON.
func TestFastTypeMeta(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{`{"kind":"Service","apiVersion":"v1","metadata":{"name":"a","ownerReferences":[{"kind":"Deployment"}]}}`, true},
		{`{"kind":"List","apiVersion":"v1","items":[{"kind":"Service"},null]}`, true},
		{`{"kind":"List","items":null}`, true},
		{`{"Kind":"Service","apiVersion":"v1"}`, false},
		{`{"kind":"Service","apiversion":"v1"}`, false},
		{`{"kind":"Service","ITEMS":[]}`, false},
		{`{"kind":"Service","metadata":{"labels":{"x":"Kind"}}}`, false}, // a value that looks like a variant: the exact path, still right
		{`{"\u006bind":"Service"}`, false},
		{`{"kind":"Service","metadata":{"name":"é"}}`, false},
		{`{"kind":"Service",}`, false},
		{`{"kind":5}`, false},
	} {
		h, ok := fastTypeMeta([]byte(tc.raw))
		if ok != tc.fast {
			t.Errorf("%s: fast %v, want %v", tc.raw, ok, tc.fast)
			continue
		}
		if ok {
			checkSameTypeMeta(t, []byte(tc.raw), h)
		}
	}
}

// checkSameTypeMeta fails unless the exact decoding of raw succeeds and
// gives h.
func checkSameTypeMeta(t *testing.T, raw []byte, h typeMeta) {
	t.Helper()
	var want typeMeta
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%q: fast path answered %+v, the exact one fails: %v", raw, h, err)
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("%q: fast %+v, exact %+v", raw, h, want)
	}
}

// FuzzFastTypeMeta: whenever the fast path answers, the exact decoding
// agrees.
func FuzzFastTypeMeta(f *testing.F) {
	for _, s := range []string{
		`{"kind":"Service","apiVersion":"v1"}`,
		`{"kind":"List","items":[{"Kind":"x"}],"kind":"ServiceList"}`,
		`{"kInd":"a","kind":"b"}`,
		`{"items":[1,{"apiVersion":"v"}],"apiVersion":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if h, ok := fastTypeMeta(raw); ok {
			checkSameTypeMeta(t, raw, h)
		}
	})
}
