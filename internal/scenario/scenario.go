package scenario

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
	"sigs.k8s.io/yaml"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

// Update makes CheckGolden rewrite golden sections instead of comparing.
var Update = flag.Bool("update", false, "rewrite golden sections of testdata/*.txtar")

// Scenario is one loaded archive.
type Scenario struct {
	Name    string
	Path    string
	Comment string
	Input   synth.Input
	Config  synth.Config
	Flows   []Flow
	files   map[string][]byte
}

// File returns a section's content, or nil.
func (s *Scenario) File(name string) []byte { return s.files[name] }

// ConfigFile is the YAML form of synth.Config in config.yaml.
type ConfigFile struct {
	NodeName            string   `json:"nodeName"`
	NodeIPs             []string `json:"nodeIPs"`
	NodePortAddresses   []string `json:"nodePortAddresses"`
	NodePortPrimary     bool     `json:"nodePortPrimary"`
	PrimaryNodeIPs      []string `json:"primaryNodeIPs"`
	NodeZone            string   `json:"nodeZone"`
	LocalDetect         string   `json:"localDetect"`
	ClusterCIDRs        []string `json:"clusterCIDRs"`
	NodePodCIDRs        []string `json:"nodePodCIDRs"`
	BridgeInterface     string   `json:"bridgeInterface"`
	InterfaceNamePrefix string   `json:"interfaceNamePrefix"`
	ServiceCIDRs        []string `json:"serviceCIDRs"`
	MasqueradeAll       bool     `json:"masqueradeAll"`
	ExternalIPAllowList []string `json:"externalIPAllowList"`
}

// Dir returns the repository's testdata folder, found from the working
// directory of a test (any package depth).
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// All loads every scenario, failing the test on any error.
func All(t testing.TB) []*Scenario {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	all, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// LoadDir loads every *.txtar in dir, sorted by name.
func LoadDir(dir string) ([]*Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*Scenario
	for _, p := range paths {
		s, err := Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Load reads one archive.
func Load(path string) (*Scenario, error) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	s := &Scenario{
		Name:    strings.TrimSuffix(filepath.Base(path), ".txtar"),
		Path:    path,
		Comment: string(ar.Comment),
		files:   map[string][]byte{},
	}
	for _, f := range ar.Files {
		s.files[f.Name] = f.Data
	}
	if s.Input, err = manifest.Read(s.Name+"/input.yaml", bytes.NewReader(s.files["input.yaml"])); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Config, err = ParseConfig(s.files["config.yaml"]); err != nil {
		return nil, fmt.Errorf("%s: config.yaml: %w", path, err)
	}
	if s.Flows, err = ParseFlows(s.files["flows.txt"]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseConfig reads config.yaml.
func ParseConfig(data []byte) (synth.Config, error) {
	var cf ConfigFile
	if err := yaml.UnmarshalStrict(data, &cf); err != nil {
		return synth.Config{}, err
	}
	cfg := synth.Config{
		NodeName:            cf.NodeName,
		NodeZone:            cf.NodeZone,
		MasqueradeAll:       cf.MasqueradeAll,
		NodePortPrimary:     cf.NodePortPrimary,
		LocalDetect:         synth.LocalDetectMode(cf.LocalDetect),
		BridgeInterface:     cf.BridgeInterface,
		InterfaceNamePrefix: cf.InterfaceNamePrefix,
	}
	var err error
	if cfg.NodeIPs, err = parseAddrs(cf.NodeIPs); err != nil {
		return cfg, err
	}
	if cfg.PrimaryNodeIPs, err = parseAddrs(cf.PrimaryNodeIPs); err != nil {
		return cfg, err
	}
	for _, p := range []struct {
		in  []string
		out *[]netip.Prefix
	}{
		{cf.NodePortAddresses, &cfg.NodePortAddresses},
		{cf.ClusterCIDRs, &cfg.ClusterCIDRs},
		{cf.NodePodCIDRs, &cfg.NodePodCIDRs},
		{cf.ServiceCIDRs, &cfg.ServiceCIDRs},
		{cf.ExternalIPAllowList, &cfg.ExternalIPAllowList},
	} {
		if *p.out, err = parsePrefixes(p.in); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func parseAddrs(in []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range in {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parsePrefixes(in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// CheckGolden compares got with the scenario's section, or rewrites the
// section when -update is set.
func CheckGolden(t testing.TB, s *Scenario, section string, got []byte) {
	t.Helper()
	if *Update {
		if err := UpdateSection(s.Path, section, got); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, ok := s.files[section]
	if !ok {
		t.Fatalf("%s: no section %s (run go test -update)", s.Path, section)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s: %s differs (run go test -update to accept):\n%s", s.Path, section, cmp.Diff(string(want), string(got)))
	}
}

// UpdateSection replaces (or appends) one section of the archive at path.
// A file lock serialises concurrent updaters from parallel test binaries.
func UpdateSection(path, section string, data []byte) error {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(path + ".lock")
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	ar, err := txtar.ParseFile(path)
	if err != nil {
		return err
	}
	replaced := false
	for i := range ar.Files {
		if ar.Files[i].Name == section {
			ar.Files[i].Data = data
			replaced = true
		}
	}
	if !replaced {
		ar.Files = append(ar.Files, txtar.File{Name: section, Data: data})
	}
	return os.WriteFile(path, txtar.Format(ar), 0o644)
}
