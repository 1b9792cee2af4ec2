// Package ui is pulltop's terminal UI: a bubbletea program that renders
// snapshots.State values and forwards operator actions to a Controller.
//
// It owns only presentation state (the view, cursor, filter, sort, freeze,
// and the per-region history it accumulates from the snapshots it has seen).
// It must never import the engine or the sim: live mode and replay mode are
// the same UI fed by a different Source, and read-only mode is the same UI
// with a nil Controller.
//
// The shape follows model → render → view: Update pulls a snapshot on a
// timer and derives, once per snapshot, the filtered and sorted row indices
// of the visible view; View only formats the rows that fit on the screen.
// That keeps a keypress cheap at a million regions (reference/tui.md §4).
package ui
