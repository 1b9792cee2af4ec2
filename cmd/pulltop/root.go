package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "pulltop",
		Short:         "top for TiKV change-data pulling",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Flag parse errors are usage errors: exit status 2.
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print the pulltop version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "pulltop %s\n", version)
			return nil
		},
	})
	root.AddCommand(newSimCommand())
	root.AddCommand(newHeadlessCommand())
	return root
}
