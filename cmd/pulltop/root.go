package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	var flags connFlags
	root := &cobra.Command{
		Use:   "pulltop",
		Short: "top for TiKV change-data pulling",
		Long: `pulltop runs a complete TiKV change-data puller in-process and shows, live,
every region's state and lag, the retries waiting in the heap, the merged
reload spans and the stores in cooldown. Without --pd it starts an embedded
simulated cluster.`,
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, _ []string) error {
			return runTUI(c, &flags)
		},
	}
	flags.register(root, defaultLogFile())
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Flag parse errors are usage errors: exit status 2.
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print the version, the commit it was built from, Go and the TiKV/PD protocol library versions",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			printVersion(c.OutOrStdout())
			return nil
		},
	})
	// --version prints the same (cobra's own would print one line).
	root.SetVersionTemplate("{{printf \"%s\" .Version}}")
	root.Version = versionText()
	root.AddCommand(newSimCommand())
	root.AddCommand(newHeadlessCommand())
	root.AddCommand(newReplayCommand())
	return root
}
