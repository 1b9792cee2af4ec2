//go:build tools

// Package deps pins the modules of DESIGN §2 in go.mod before every one of
// them has an importer, so that `go mod tidy` keeps the pinned versions.
// It is never built.
package deps

import (
	_ "github.com/charmbracelet/bubbles/key"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/pingcap/kvproto/pkg/cdcpb"
	_ "github.com/pingcap/kvproto/pkg/pdpb"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "github.com/tikv/client-go/v2/oracle"
	_ "github.com/tikv/client-go/v2/util/codec"
	_ "github.com/tikv/pd/client"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/health"
)
