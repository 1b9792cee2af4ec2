package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
)

// Issue 27 on the real binary: the operator's surface at 120×40 and 80×24.

// sizes are the terminals the navigation tests run at.
var sizes = []struct{ w, h int }{{120, 40}, {80, 24}}

func sizeName(w, h int) string { return strconv.Itoa(w) + "x" + strconv.Itoa(h) }

// cursorLine is the line the cursor is on (a list's "> " row), or "".
func cursorLine(screen string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.HasPrefix(line, ">") {
			return line
		}
	}
	return ""
}

// statusLine is the line above the footer.
func tuiStatusLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) < 2 {
		return ""
	}
	return lines[len(lines)-2]
}

// cursorTo moves a list's cursor down from the top to the first row that
// contains text, one key at a time, each step proven on screen.
func cursorTo(t *testing.T, s *tmuxtest.Session, text string) string {
	t.Helper()
	onTop := func(screen string) bool {
		return cursorLine(screen) != "" && cursorLine(screen) == firstListRow(screen)
	}
	screen := s.Capture()
	if !onTop(screen) {
		screen = s.SendAndWaitFunc("g", "the cursor on the top row", onTop)
	}
	for range 60 {
		if strings.Contains(cursorLine(screen), text) {
			return screen
		}
		before := cursorLine(screen)
		screen = s.SendAndWaitFunc("j", "the cursor a row down", func(screen string) bool {
			return cursorLine(screen) != before
		})
	}
	t.Fatalf("no row with %q under the cursor:\n%s", text, screen)
	return ""
}

// Items 2 and 4: esc retraces the path the operator took — Events →
// enter on a cause's event → Regions filtered to it → a region → its
// store → esc, esc, esc → back on Events with the cursor on that event —
// and the tab says where the operator is: a store's detail is under
// Stores (also after :store N typed on Regions), a region's under Regions.
func TestEscRetracesThePathInTmux(t *testing.T) {
	for _, sz := range sizes {
		t.Run(sizeName(sz.w, sz.h), func(t *testing.T) {
			s, _ := startOperatorTUI(t, sz.w, sz.h, "at 2s lock region 4 for 1h\n", nil,
				"--regions", "9", "--stale-after", "2s")
			s.Ready(tab(1), "embedded sim")
			s.SendAndWait("6", tab(6), "WHAT HAPPENED")
			s.WaitFor("cause lock")
			screen := cursorTo(t, s, "cause lock")
			event := cursorLine(screen)

			s.SendAndWait("Enter", tab(2), `filter "cause:lock"`)
			screen = s.SendAndWait("Enter", tab(2), "detail of region")
			region := regexp.MustCompile(`detail of region (\d+)`).FindStringSubmatch(screen)[1]
			screen = s.SendAndWait("Enter", tab(5), "detail of store")
			require.NotContains(t, screen, tab(2), "a store's detail is under Stores")

			s.SendAndWait("Escape", tab(2), "detail of region "+region)
			s.SendAndWaitFunc("Escape", "the filtered Regions list again", func(screen string) bool {
				return strings.Contains(screen, tab(2)) && strings.Contains(screen, `filter "cause:lock"`) &&
					!strings.Contains(screen, "detail of")
			})
			screen = s.SendAndWait("Escape", tab(6), "WHAT HAPPENED")
			require.Equal(t, eventKey(event), eventKey(cursorLine(screen)),
				"back on Events with the cursor on the event enter was pressed on:\n%s", screen)
			s.SendAndWait("Escape", tab(1))

			// :store 3 typed on Regions shows store 3 under the Stores tab.
			s.SendAndWait("2", tab(2))
			s.SendAndWait(":", "store N")
			s.TypeAndWait("store 3", ":store 3")
			screen = s.SendAndWait("Enter", "detail of store 3", tab(5))
			require.NotContains(t, screen, tab(2))
			s.SendAndWait("Escape", tab(2))
			require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
		})
	}
}

// Item 3: enter on a fault-script line opens what the line names — the
// region or store it hit — or nothing, saying why in the status line; it
// never opens another event's subject. While newer events arrive above
// it, the cursor stays on the line the operator chose.
func TestEnterOnAFaultLineInTmux(t *testing.T) {
	for _, sz := range sizes {
		t.Run(sizeName(sz.w, sz.h), func(t *testing.T) {
			// The lock's cause would be decided after --stale-after; the
			// second line fires well after the first.
			s, _ := startOperatorTUI(t, sz.w, sz.h, "at 3s lock region random for 60s\nat 15s busy-store 1 for 30s\n", nil,
				"--regions", "12", "--stale-after", "30s")
			s.Ready(tab(1), "embedded sim")
			s.SendAndWait("6", tab(6), "WHAT HAPPENED")
			s.WaitFor("at 3s lock region")
			screen := cursorTo(t, s, "at 3s lock region")
			atTop := strings.Contains(firstListRow(screen), "at 3s lock region")
			// A newer event arrives above it: the cursor keeps its row.
			screen = s.WaitFor("at 15s busy-store 1")
			require.Contains(t, cursorLine(screen), "at 3s lock region", "the cursor keeps the row it was on (top: %v):\n%s", atTop, screen)

			screen = s.SendAndWaitFunc("Enter", "the region the line names, or why nothing opens", func(screen string) bool {
				return strings.Contains(screen, "detail of region") ||
					strings.Contains(tuiStatusLine(screen), "nothing to open")
			})
			if strings.Contains(screen, "detail of region") {
				// The fault names the region random picked.
				require.Contains(t, screen, tab(2))
				s.SendAndWait("Escape", tab(6))
			} else {
				require.Contains(t, tuiStatusLine(screen), "at 3s lock region", "the status line names the event")
				require.Contains(t, screen, tab(6), "nothing opened")
			}
			require.NotContains(t, screen, `filter "cause:`, "never another event's cause")
			require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
		})
	}
}

// eventKey is an Events row without its AGO, which ticks: time, kind,
// subject.
func eventKey(row string) []string {
	f := strings.Fields(strings.TrimPrefix(row, ">"))
	if len(f) < 5 {
		return f
	}
	return []string{f[0], f[2], f[3], f[4]}
}

// firstListRow is the row under a list's column titles.
func firstListRow(screen string) string {
	lines := strings.Split(screen, "\n")
	for k, line := range lines {
		if strings.Contains(line, "▲") || strings.Contains(line, "▼") {
			if k+1 < len(lines) {
				return lines[k+1]
			}
		}
	}
	return ""
}

// Item 1: at 80×24 the causes board's evidence wraps onto a second line
// instead of being cut, the errors by reason are summed up on screen, the
// footer ends in "? more keys" instead of "…", and Stores keep COOLDOWN
// and LAST MSG.
func TestSmallTerminalKeepsTheEvidenceInTmux(t *testing.T) {
	// Store 3 stays stopped (no election for 5m): it cycles through
	// cooldowns of up to 5s.
	s, _ := startOperatorTUI(t, 80, 24, "at 2s lock region 4 for 1h\nat 2s stop-store 3\n", nil,
		"--regions", "9", "--stale-after", "2s", "--election-timeout", "5m")
	s.Ready(tab(1), "embedded sim")
	screen := s.WaitForFunc("the lock's evidence, whole, over two lines", 40*time.Second, func(screen string) bool {
		return regexp.MustCompile(`pinned \S+ by\s+txn \d{15,}`).MatchString(boardEvidence(screen, "lock"))
	})
	require.Regexp(t, `(?m)^ Errors {9}\S`, screen, "the errors by reason, summed up:\n%s", screen)
	footer := lastLine(screen)
	require.Contains(t, footer, "? more keys")
	require.NotContains(t, footer, "…")

	screen = s.SendAndWait("5", tab(5), "COOLDOWN", "LAST MSG")
	require.Contains(t, lastLine(screen), "? more keys")
	s.WaitForFunc("store 3 in a cooldown, its time left shown", 40*time.Second, func(screen string) bool {
		f := strings.Fields(strings.TrimPrefix(storeLine80(screen, "3"), ">"))
		return len(f) > 2 && f[1] == "COOLDOWN" && regexp.MustCompile(`^\d`).MatchString(f[2])
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// boardEvidence is a cause's board row and the line under it when that
// line continues it, joined.
func boardEvidence(screen, cause string) string {
	lines := strings.Split(screen, "\n")
	for k, line := range lines {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) < 2 || f[0] != cause || !strings.Contains(line, "region ") {
			continue
		}
		text := line
		if k+1 < len(lines) && strings.HasPrefix(lines[k+1], strings.Repeat(" ", 17)) &&
			strings.TrimSpace(lines[k+1]) != "" && !strings.HasPrefix(strings.TrimSpace(lines[k+1]), "store ") {
			text += " " + strings.TrimSpace(lines[k+1])
		}
		return text
	}
	return ""
}

func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	return lines[len(lines)-1]
}

// storeLine80 is a store's row in the Stores view without its address
// (80 columns drop it).
func storeLine80(screen, id string) string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) > 2 && f[0] == id {
			return line
		}
	}
	return ""
}

// Item 5: after a forced reload, y e copies the region's last error, not
// the action's text.
func TestCopyLastErrorAfterReloadInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "at 2s stop-store 1\n", nil,
		"--regions", "12", "--election-timeout", "5m")
	s.EnableClipboard()
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("2", tab(2), "LAST ERROR")
	s.SendAndWait("/", "/█")
	s.TypeAndWait("store:1", "/store:1█")
	s.SendAndWait("Enter", `filter "store:1"`)
	s.WaitForFunc("the top region failing", 40*time.Second, func(screen string) bool {
		rows := regionRows(screen)
		return len(rows) > 0 && strings.HasPrefix(rows[0].line, ">") &&
			regexp.MustCompile(` \d\S* ago st`).MatchString(rows[0].line)
	})
	screen := s.SendAndWait("Enter", "detail of region", "last error")
	region := regexp.MustCompile(`detail of region (\d+)`).FindStringSubmatch(screen)[1]
	s.SendAndWait("R", "Force reload region "+region, "[y/N]")
	s.SendAndWait("y", "force reload region "+region)
	s.WaitFor("done")
	s.SendAndWait("y", "copy:", "e last error")
	s.SendAndWait("e", "copied last error to the clipboard")
	clip := s.Clipboard()
	require.NotContains(t, clip, "force reload", "the region's error, not the action")
	require.True(t, strings.HasPrefix(clip, "store_failure: store 1 (127.0.0.1:"), "clipboard: %q", clip)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 6: in a replay, ] at the newest moment says so; there is no live.
func TestReplayNewestMomentInTmux(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "3s", "--interval", "500ms", "--regions", "9",
		"--snapshot", path)
	require.Equal(t, 0, code, stderr)
	for _, sz := range sizes {
		t.Run(sizeName(sz.w, sz.h), func(t *testing.T) {
			s := tmuxtest.Start(t, sz.w, sz.h, []string{"XDG_STATE_HOME=" + dir, "NO_COLOR=1"}, binary, "replay", path)
			s.Ready(tab(1), "[replay]")
			screen := s.SendAndWait("]", "newest moment")
			require.NotContains(t, screen, "already live")
			s.SendAndWait("[", "AT ", "behind the newest")
			s.SendAndWaitFunc("]", "the newest moment again", func(screen string) bool {
				return strings.Contains(screen, "newest moment") && !strings.Contains(screen, "behind the newest")
			})
			require.NotContains(t, s.Capture(), "already live")
			require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
		})
	}
}
