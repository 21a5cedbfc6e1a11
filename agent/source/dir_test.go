package source

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func service(name string, port int) string {
	return strings.NewReplacer("NAME", name, "PORT", strconv.Itoa(port)).Replace(`apiVersion: v1
kind: Service
metadata:
  name: NAME
  namespace: prod
spec:
  clusterIP: 10.96.0.10
  ports:
  - port: PORT
    protocol: TCP
`)
}

const slice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: prod
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["10.244.1.5"]
ports:
- port: 8080
  protocol: TCP
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ports lists "name:port" of the snapshot's Services.
func ports(d *Dir) []string {
	var out []string
	for _, s := range d.Snapshot().Input.Services {
		for _, p := range s.Spec.Ports {
			out = append(out, s.Name+":"+strconv.Itoa(int(p.Port)))
		}
	}
	slices.Sort(out)
	return out
}

func startDir(t *testing.T, dir string, rec *recorder) *Dir {
	t.Helper()
	d := NewDir(dir, 0, nil)
	d.watch = false // synctest drives time; inotify is tested in TestDirWatch
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, rec) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
	select {
	case <-d.Synced():
	default:
		t.Fatal("not synced after the first scan")
	}
	return d
}

// poll lets a file written in place settle and be scanned again.
func poll() {
	time.Sleep(SettleTime + 2*DefaultPollInterval + time.Millisecond)
	synctest.Wait()
}

func expectKinds(t *testing.T, rec *recorder, want []Kind, wantErrs int) {
	t.Helper()
	kinds, errs := rec.take()
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	if len(errs) != wantErrs {
		t.Errorf("InputError called %d times, want %d: %v", len(errs), wantErrs, errs)
	}
}

func TestDir(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "svc.yaml", service("web", 80))
		write(t, dir, "eps.yaml", slice)
		write(t, dir, "README.md", "not a manifest")
		rec := &recorder{}
		d := startDir(t, dir, rec)
		expectKinds(t, rec, []Kind{Service, EndpointSlice}, 0)
		if got := len(d.Snapshot().Input.EndpointSlices); got != 1 {
			t.Errorf("%d EndpointSlices", got)
		}

		t.Log("edit")
		write(t, dir, "svc.yaml", service("web", 81))
		poll()
		expectKinds(t, rec, []Kind{Service}, 0)
		if diff := cmp.Diff([]string{"web:81"}, ports(d)); diff != "" {
			t.Errorf("after edit (-want +got):\n%s", diff)
		}

		t.Log("rewrite with the same content: no change")
		write(t, dir, "svc.yaml", service("web", 81))
		poll()
		expectKinds(t, rec, nil, 0)

		t.Log("new file")
		write(t, dir, "db.yml", service("db", 5432))
		poll()
		expectKinds(t, rec, []Kind{Service}, 0)
		if diff := cmp.Diff([]string{"db:5432", "web:81"}, ports(d)); diff != "" {
			t.Errorf("after new file (-want +got):\n%s", diff)
		}

		t.Log("broken edit keeps the file's last good content, reported once")
		write(t, dir, "svc.yaml", "kind: Service\nspec: [oops\n")
		poll()
		poll()
		expectKinds(t, rec, nil, 1)
		if diff := cmp.Diff([]string{"db:5432", "web:81"}, ports(d)); diff != "" {
			t.Errorf("after broken edit (-want +got):\n%s", diff)
		}

		t.Log("fixed")
		write(t, dir, "svc.yaml", service("web", 82))
		poll()
		expectKinds(t, rec, []Kind{Service}, 0)

		t.Log("removed files")
		os.Remove(filepath.Join(dir, "db.yml"))
		os.Remove(filepath.Join(dir, "eps.yaml"))
		poll()
		expectKinds(t, rec, []Kind{Service, EndpointSlice}, 0)
		if diff := cmp.Diff([]string{"web:82"}, ports(d)); diff != "" {
			t.Errorf("after removal (-want +got):\n%s", diff)
		}
		if got := len(d.Snapshot().Input.EndpointSlices); got != 0 {
			t.Errorf("%d EndpointSlices after removal", got)
		}
	})
}

func TestDirBadFileAtStartAndDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "a.yaml", service("web", 80))
		write(t, dir, "b.yaml", service("web", 9999)) // same Service again
		write(t, dir, "c.json", "{not json")
		rec := &recorder{}
		d := startDir(t, dir, rec)
		expectKinds(t, rec, []Kind{Service}, 2) // c.json, and web defined twice
		if diff := cmp.Diff([]string{"web:80"}, ports(d)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestDirMissing(t *testing.T) {
	d := NewDir(filepath.Join(t.TempDir(), "nope"), 0, nil)
	if err := d.Run(t.Context(), &recorder{}); err == nil {
		t.Error("Run on a missing directory succeeded")
	}
}

// TestDirWatch: with inotify an edit is seen at once, long before the
// (here one hour) poll interval.
func TestDirWatch(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", service("web", 80))
	rec := &recorder{}
	d := NewDir(dir, time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, rec) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-d.Synced()
	tmp := filepath.Join(dir, ".a.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(service("web", 81)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if slices.Equal(ports(d), []string{"web:81"}) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("edit not seen within 5s (poll interval 1h): %v", ports(d))
}

// TestDirBadObjectCostsOnlyItself: one Service with a port of the wrong
// type is reported and skipped; the rest of its file is taken.
func TestDirBadObjectCostsOnlyItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		bad := strings.Replace(service("bad", 80), "port: 80", `port: "eighty"`, 1)
		write(t, dir, "svc.yaml", service("web", 80)+"---\n"+bad+"---\n"+service("db", 5432))
		rec := &recorder{}
		d := startDir(t, dir, rec)
		expectKinds(t, rec, []Kind{Service}, 1)
		if diff := cmp.Diff([]string{"db:5432", "web:80"}, ports(d)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}
