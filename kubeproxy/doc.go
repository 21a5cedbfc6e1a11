// Package kubeproxy makes `svcnat run` a drop-in for kube-proxy v1.37.2 on
// Linux: it accepts kube-proxy's configuration file and every one of its
// command-line flags, with kube-proxy's meaning, defaulting and precedence,
// adds svcnat's own flags on top, and produces one plain Settings struct.
//
// Use:
//
//	o := kubeproxy.NewOptions()
//	o.AddFlags(fs)       // kube-proxy's flags
//	o.AddSvcnatFlags(fs) // --backend, --node-ip, --manifests, ...
//	// parse fs
//	s, err := o.Complete(fs)
//	// ApplyLogging(s), log s.Warnings, SetOOMScoreAdj(0, *s.OOMScoreAdj),
//	// WatchConfigFile(ctx, s.ConfigFile), WriteConfig for --write-config-to;
//	// s.Conntrack goes to agent/conntrack.Apply.
//
// Files:
//
//	options.go         Options, AddFlags (kube-proxy's flags), AddSvcnatFlags
//	flagvalues.go      flag types (ip, ipport, lists) and kube-proxy's sloppy IP/CIDR parsing
//	load.go            LoadConfigFile: strict decoding of the configuration file
//	defaults.go        SetDefaults: kube-proxy's v1alpha1 defaulting
//	complete.go        Complete: precedence of file, flags and svcnat flags; warnings
//	validate.go        kube-proxy's validation rules
//	hints.go           validation errors name the file's field and the flags
//	settings.go        Settings, the result
//	featuregates.go    NewFeatureGate: kube-proxy's known gates (zz_featuregates.go is generated)
//	fields.go          the JSON paths of v1alpha1.KubeProxyConfiguration, by reflection
//	table.go, table_flags.go  Reference: every field, flag, metric and endpoint, classified
//	logging.go         ApplyLogging, and the logging flags' priority over the file
//	writeconfig.go     WriteConfig (--write-config-to)
//	watch.go           WatchConfigFile: report a changed configuration file
//	oom.go             SetOOMScoreAdj
//	internal/upstream  reads the kube-proxy sources (tests and go generate only)
//
// docs/KUBE-PROXY.md is generated from Reference by `go generate
// ./kubeproxy`, which also regenerates zz_featuregates.go from the
// k8s.io/kubernetes sources.
package kubeproxy
