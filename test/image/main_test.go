//go:build image

package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/svcnat/svcnat/internal/labtest"
)

// buildLimit bounds one `make image` (a cold one compiles svcnat and
// downloads the Debian packages).
const buildLimit = 10 * time.Minute

// built is what TestMain made: two archives of the same tree and the root
// file system unpacked from the first.
var built struct {
	first, second string // archive paths
	rootfs        string
	version       string
	revision      string
	digest        v1.Hash
	config        *v1.ConfigFile
	env           []string // the image's environment
	skip          string   // why the tests skip, when they do
	err           error    // a build failure, reported by every test
}

func TestMain(m *testing.M) {
	if os.Getenv(launchEnv) != "" {
		launchChild() // never returns
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "svcnat-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if os.Geteuid() != 0 {
		built.skip = "needs root (chroot, mounts, network namespaces)"
	} else {
		built.err = build(tmp)
	}
	return m.Run()
}

// needImage skips or fails t unless TestMain built the image.
func needImage(t *testing.T) {
	t.Helper()
	if built.err != nil {
		t.Fatal(built.err)
	}
	if built.skip != "" {
		if os.Getenv("IMAGE_REQUIRED") == "1" {
			t.Fatalf("IMAGE_REQUIRED=1 but: %s", built.skip)
		}
		t.Skip(built.skip)
	}
}

func build(tmp string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*buildLimit)
	defer cancel()
	root, err := labtest.RepoRoot()
	if err != nil {
		return err
	}
	if built.version, err = output(ctx, root, "make", "-s", "print-version"); err != nil {
		return err
	}
	if built.revision, err = output(ctx, root, "git", "rev-parse", "HEAD"); err != nil {
		return err
	}
	for _, name := range []string{"first", "second"} {
		out := filepath.Join(tmp, name+".tar")
		start := time.Now()
		if _, err := output(ctx, root, "make", "-s", "image", "IMAGE="+out, "IMAGE_LAYOUT="+filepath.Join(tmp, name)); err != nil {
			return err
		}
		fmt.Printf("make image (%s): %v\n", name, time.Since(start).Round(time.Second))
	}
	built.first, built.second = filepath.Join(tmp, "first.tar"), filepath.Join(tmp, "second.tar")
	built.rootfs = filepath.Join(tmp, "rootfs")
	layoutDir := filepath.Join(tmp, "layout")
	if err := unpackImage(built.first, layoutDir, built.rootfs); err != nil {
		return err
	}
	img, err := layoutImage(layoutDir)
	if err != nil {
		return err
	}
	if built.digest, err = img.Digest(); err != nil {
		return err
	}
	if built.config, err = img.ConfigFile(); err != nil {
		return err
	}
	built.env = built.config.Config.Env
	return nil
}

// output runs a command in dir and returns its trimmed standard output; a
// failure carries its standard error.
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}
