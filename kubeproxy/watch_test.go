package kubeproxy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// configMapDir lays out a folder like a ConfigMap volume: config.conf ->
// ..data/config.conf, ..data -> ..<version>.
func configMapDir(t *testing.T, content string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	writeVersion(t, dir, "..v1", content)
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/config.conf", filepath.Join(dir, "config.conf")); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "config.conf")
}

func writeVersion(t *testing.T, dir, version, content string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, version, "config.conf"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// swapConfigMap updates the volume the way the kubelet does: a new version
// folder, then an atomic rename of a fresh ..data symlink.
func swapConfigMap(t *testing.T, dir, content string) {
	t.Helper()
	writeVersion(t, dir, "..v2", content)
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink("..v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func TestWatchConfigFile(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir, path string)
		want   string // "" means no report
	}{
		{"edit in place", func(t *testing.T, dir, path string) {
			if err := os.WriteFile(filepath.Join(dir, "..v1", "config.conf"), []byte("mode: iptables\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "was updated"},
		{"plain file rewritten", func(t *testing.T, dir, path string) {
			plain := filepath.Join(dir, "plain.conf")
			if err := os.WriteFile(plain, []byte("mode: iptables\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(plain, path); err != nil { // replaces the symlink
				t.Fatal(err)
			}
		}, "was updated"},
		{"configmap swap", func(t *testing.T, dir, path string) { swapConfigMap(t, dir, "mode: iptables\n") }, "was updated"},
		{"removed", func(t *testing.T, dir, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "was removed"},
		{"same content rewritten", func(t *testing.T, dir, path string) { swapConfigMap(t, dir, "mode: nftables\n") }, ""},
		{"another file", func(t *testing.T, dir, path string) {
			if err := os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, path := configMapDir(t, "mode: nftables\n")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := WatchConfigFile(ctx, path)
			time.Sleep(50 * time.Millisecond) // let the watch start
			tt.change(t, dir, path)
			select {
			case err := <-ch:
				if tt.want == "" {
					t.Fatalf("reported %v, want nothing", err)
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("reported %v, want %q", err, tt.want)
				}
			case <-time.After(wait(tt.want)):
				if tt.want != "" {
					t.Fatal("no report in time")
				}
			}
			cancel()
			select {
			case _, open := <-ch:
				if open && tt.want == "" {
					t.Error("a value after cancel")
				}
			case <-time.After(2 * time.Second):
				t.Error("channel not closed after cancel")
			}
		})
	}
}

func TestWatchConfigFileMissing(t *testing.T) {
	err := <-WatchConfigFile(context.Background(), filepath.Join(t.TempDir(), "none"))
	if err == nil {
		t.Fatal("no error for a missing file")
	}
}

// wait is how long to wait for a report: well below the 5s poll, so a
// report comes from inotify; shorter when none is expected.
func wait(want string) time.Duration {
	if want == "" {
		return 700 * time.Millisecond
	}
	return 2 * time.Second
}
