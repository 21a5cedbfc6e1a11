package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// threeServices is a file of three Services whose ports say the version.
func threeServices(version int) string {
	var docs []string
	for _, name := range []string{"a", "b", "c"} {
		docs = append(docs, service(name, 8000+version))
	}
	return strings.Join(docs, "---\n")
}

// TestDirNeverDropsServicesWhileFilesAreWritten rewrites a file of three
// Services the ways people and tools do, while sampling what the source
// offers: it must never hold fewer than the three, and must end with the
// new version. Before versions had to settle, a file rewritten in place
// (O_TRUNC, then three writes) took the source through 3, 0, 1, 2, 3.
func TestDirNeverDropsServicesWhileFilesAreWritten(t *testing.T) {
	writers := map[string]func(t *testing.T, dir string, content string){
		// An editor: write a temporary file, rename it over the old one.
		"editor": func(t *testing.T, dir, content string) {
			tmp := filepath.Join(dir, ".svc.yaml.swp")
			if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "svc.yaml")); err != nil {
				t.Fatal(err)
			}
		},
		// cp: truncate, then a few quick writes.
		"cp": func(t *testing.T, dir, content string) {
			writeInPlace(t, filepath.Join(dir, "svc.yaml"), content, 3, 5*time.Millisecond)
		},
		// kubectl get -o yaml > file: truncate, then writes over time.
		"kubectl": func(t *testing.T, dir, content string) {
			writeInPlace(t, filepath.Join(dir, "svc.yaml"), content, 6, 150*time.Millisecond)
		},
		// A ConfigMap volume: files are links into ..data, which is
		// swapped by renaming a new link over it.
		"configmap": func(t *testing.T, dir, content string) { configMapUpdate(t, dir, content) },
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, threeServices(1))
			d := NewDir(dir, 0, nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx, &recorder{}) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			<-d.Synced()
			var least atomic.Int64
			least.Store(3)
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					if n := int64(len(d.Snapshot().Input.Services)); n < least.Load() {
						least.Store(n)
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			write(t, dir, threeServices(2))
			deadline := time.Now().Add(5 * time.Second)
			for !hasVersion(d, 2) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			close(stop)
			<-sampled
			if !hasVersion(d, 2) {
				t.Fatalf("new version not taken within 5 s: %v", ports(d))
			}
			if n := least.Load(); n < 3 {
				t.Errorf("the source offered %d Services while the file was written, want 3 throughout", n)
			}
		})
	}
}

func hasVersion(d *Dir, version int) bool {
	got := ports(d)
	want := []string{fmt.Sprintf("a:%d", 8000+version), fmt.Sprintf("b:%d", 8000+version), fmt.Sprintf("c:%d", 8000+version)}
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// writeInPlace truncates path and writes content in n pieces, pausing
// between them.
func writeInPlace(t *testing.T, path, content string, n int, pause time.Duration) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := (len(content) + n - 1) / n
	for i := 0; i < len(content); i += size {
		time.Sleep(pause)
		if _, err := f.WriteString(content[i:min(i+size, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
}

// configMapUpdate lays content out as the kubelet updates a ConfigMap
// volume: a new timestamped directory, a ..data_tmp link to it renamed
// over ..data, and svc.yaml a link to ..data/svc.yaml.
var cmVersion atomic.Int64

func configMapUpdate(t *testing.T, dir, content string) {
	ts := fmt.Sprintf("..2026_%d", cmVersion.Add(1))
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ts, "svc.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "svc.yaml")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", "svc.yaml"), link); err != nil {
			t.Fatal(err)
		}
	}
}
