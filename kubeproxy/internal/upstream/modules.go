package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Version is the kube-proxy release svcnat follows.
const Version = "v1.37.2"

// stagingVersion is the version of the k8s.io/* staging modules released
// with Version (v1.37.2 -> v0.37.2).
var stagingVersion = "v0." + strings.TrimPrefix(Version, "v1.")

// ModuleDir returns the directory of module path@version in the module
// cache, downloading it through the module proxy when it is missing. It
// runs `go mod download` in a temporary directory so that the caller's
// go.mod is never touched.
func ModuleDir(path, version string) (string, error) {
	tmp, err := os.MkdirTemp("", "svcnat-upstream-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", path, version, err, stderr.String())
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory in %q", path, version, out)
	}
	return info.Dir, nil
}

// Kubernetes returns the directory of k8s.io/kubernetes at Version.
func Kubernetes() (string, error) { return ModuleDir("k8s.io/kubernetes", Version) }

// PackageDir returns the directory of a k8s.io import path: a package of
// k8s.io/kubernetes, or of a staging module (k8s.io/apiserver/pkg/features).
func PackageDir(importPath string) (string, error) {
	rest, ok := strings.CutPrefix(importPath, "k8s.io/")
	if !ok {
		return "", fmt.Errorf("%s: not a k8s.io package", importPath)
	}
	module, sub, _ := strings.Cut(rest, "/")
	version := stagingVersion
	if module == "kubernetes" {
		version = Version
	}
	dir, err := ModuleDir("k8s.io/"+module, version)
	if err != nil {
		return "", err
	}
	return dir + "/" + sub, nil
}
