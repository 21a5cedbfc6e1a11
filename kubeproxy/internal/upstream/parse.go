package upstream

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// parsePackage parses the non-test Go files of dir.
func parsePackage(dir string) (*token.FileSet, []*ast.File, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	return fset, files, nil
}

func parseFile(path string) (*ast.File, error) {
	return parser.ParseFile(token.NewFileSet(), path, nil, 0)
}

// stringConsts maps the names of a package's string constants to their values.
func stringConsts(files []*ast.File) map[string]string {
	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
		}
	}
	return consts
}

func stringLit(e ast.Expr) (string, bool) {
	// featuregate.Feature("Name") is a string constant too.
	if call, ok := e.(*ast.CallExpr); ok && len(call.Args) == 1 {
		e = call.Args[0]
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// Flags returns the names of the flags kube-proxy v1.37.2 registers on
// Linux: cmd/kube-proxy/app (Options.AddFlags and the Linux addOSFlags),
// component-base's logging flags (logsapi.AddFlags, with the JSON format
// registered like kube-proxy's main does) and --version (verflag, through
// pflag.CommandLine). windowsFlags are the Windows-only ones.
func Flags() (linux, windowsFlags []string, err error) {
	kube, err := Kubernetes()
	if err != nil {
		return nil, nil, err
	}
	app := filepath.Join(kube, "cmd/kube-proxy/app")
	for _, name := range []string{"options.go", "init_linux.go", "server_linux.go", "server.go"} {
		names, err := flagNamesIn(filepath.Join(app, name), nil)
		if err != nil {
			return nil, nil, err
		}
		linux = append(linux, names...)
	}
	if windowsFlags, err = flagNamesIn(filepath.Join(app, "init_windows.go"), nil); err != nil {
		return nil, nil, err
	}
	logs, err := PackageDir("k8s.io/component-base/logs/api/v1")
	if err != nil {
		return nil, nil, err
	}
	_, logFiles, err := parsePackage(logs)
	if err != nil {
		return nil, nil, err
	}
	names, err := flagNamesIn(filepath.Join(logs, "options.go"), stringConsts(logFiles))
	if err != nil {
		return nil, nil, err
	}
	linux = append(linux, names...)
	verflag, err := PackageDir("k8s.io/component-base/version/verflag")
	if err != nil {
		return nil, nil, err
	}
	_, vfiles, err := parsePackage(verflag)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := stringConsts(vfiles)["versionFlagName"]; ok {
		linux = append(linux, v)
	} else {
		return nil, nil, fmt.Errorf("%s: no versionFlagName", verflag)
	}
	slices.Sort(linux)
	return slices.Compact(linux), windowsFlags, nil
}

// flagRegistrations are the pflag methods whose second argument is the
// flag name (the first for Var/VarP is the value).
var flagRegistrations = map[string]bool{
	"StringVar": true, "BoolVar": true, "Int32Var": true, "Float32Var": true,
	"DurationVar": true, "StringSliceVar": true, "Var": true, "VarP": true,
	"IntVar": true, "Int64Var": true, "StringArrayVar": true, "Uint32Var": true,
}

// flagNamesIn returns the names of the flags registered with fs.XxxVar
// calls in one file; a name may be a literal or a constant of consts.
func flagNamesIn(path string, consts map[string]string) ([]string, error) {
	f, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	var bad error
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !flagRegistrations[sel.Sel.Name] || len(call.Args) < 2 {
			return true
		}
		if recv, ok := sel.X.(*ast.Ident); !ok || recv.Name != "fs" {
			return true
		}
		switch arg := call.Args[1].(type) {
		case *ast.BasicLit:
			s, _ := stringLit(arg)
			names = append(names, s)
		case *ast.Ident:
			if s, ok := consts[arg.Name]; ok {
				names = append(names, s)
			} else {
				bad = fmt.Errorf("%s: flag name %s is not a known constant", path, arg.Name)
			}
		}
		return true
	})
	return names, bad
}

// Metrics returns the names of the metrics defined in
// pkg/proxy/metrics/metrics.go: Subsystem_Name of every Opts literal and the
// name of every metrics.NewDesc.
func Metrics() ([]string, error) {
	kube, err := Kubernetes()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(kube, "pkg/proxy/metrics/metrics.go")
	f, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	consts := stringConsts([]*ast.File{f})
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			fields := map[string]string{}
			for _, elt := range n.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				if s, ok := stringLit(kv.Value); ok {
					fields[key.Name] = s
				} else if id, ok := kv.Value.(*ast.Ident); ok {
					fields[key.Name] = consts[id.Name]
				}
			}
			if fields["Name"] != "" && fields["Help"] != "" {
				name := fields["Name"]
				if fields["Subsystem"] != "" {
					name = fields["Subsystem"] + "_" + name
				}
				if fields["Namespace"] != "" {
					name = fields["Namespace"] + "_" + name
				}
				names = append(names, name)
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
				if s, ok := stringLit(n.Args[0]); ok {
					names = append(names, s)
				}
			}
		}
		return true
	})
	slices.Sort(names)
	return slices.Compact(names), nil
}
