package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// outputFlag is -o/--output: text for people, json or yaml for scripts
// (schemas in docs/CLI.md).
type outputFlag struct{ format string }

func (o *outputFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "output `FORMAT`: text, json or yaml (schemas: docs/CLI.md)")
	fixedValues(cmd, "output", "text", "json", "yaml")
}

// check rejects an unknown format before any work is done.
func (o *outputFlag) check() error {
	switch o.format {
	case "text", "json", "yaml":
		return nil
	}
	return usagef("--output %q: want text, json or yaml", o.format)
}

// write prints v as JSON or YAML, or calls text for the text format.
func (o *outputFlag) write(w io.Writer, v any, text func(io.Writer) error) error {
	switch o.format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return text(w)
}
