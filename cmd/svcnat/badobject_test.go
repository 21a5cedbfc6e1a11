package main

import (
	"strings"
	"testing"
)

// TestBadObjectIsAWarning: render programs the good Services of a file
// with one bad object, warns about the bad one at FILE:LINE, and exits 0;
// with nothing usable it exits 2.
func TestBadObjectIsAWarning(t *testing.T) {
	doc := "apiVersion: v1\nkind: Service\nmetadata: {name: good}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 10.96.0.2, ports: [{port: \"eighty\"}]}\n"
	code, out, errOut := run(t, doc, "render", "-f", "-", "--node-name", "n")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "10.96.0.1") || strings.Contains(out, "10.96.0.2") {
		t.Errorf("render does not hold exactly the good Service:\n%s", out)
	}
	if !strings.Contains(errOut, "warning: <stdin>:6: Service: json: cannot unmarshal") {
		t.Errorf("stderr lacks the warning for the bad object:\n%s", errOut)
	}
	bad := "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 10.96.0.2, ports: [{port: \"eighty\"}]}\n"
	if code, _, errOut := run(t, bad, "render", "-f", "-", "--node-name", "n"); code != 2 || !strings.Contains(errOut, "<stdin>:1:") {
		t.Errorf("nothing usable: exit %d, stderr %q; want 2 naming <stdin>:1", code, errOut)
	}
}
