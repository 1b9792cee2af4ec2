package ui

import (
	"encoding/base64"
	"os"
	"os/exec"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pulltop/pulltop/snapshots"
)

// The : command line (k9s): go somewhere by name instead of by keys.
//
//	:store 2           store 2's detail
//	:region 60         region 60's detail
//	:regions lag>5s    the Regions view with that filter (any view name works)
//	:q                 quit

// openCommand opens the command line.
func (a *app) openCommand() {
	a.cmdline = true
	a.cmdInput.set("")
}

// commandKey edits the command line; enter runs it, esc drops it.
func (a *app) commandKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEnter:
		a.cmdline = false
		return a.runCommand(a.cmdInput.String())
	case tea.KeyEsc:
		a.cmdline = false
		return nil
	case tea.KeyBackspace:
		if len(a.cmdInput.value) == 0 {
			a.cmdline = false // backspace on an empty line leaves it, as in vim
			return nil
		}
	}
	a.cmdInput.update(msg)
	return nil
}

// commandViews maps the names a command may use for a view.
var commandViews = map[string]viewID{
	"overview": viewOverview, "o": viewOverview,
	"regions": viewRegions, "retries": viewRetries, "reloads": viewReloads,
	"stores": viewStores, "events": viewEvents, "log": viewEvents,
	"actions": viewActions, "rows": viewRows,
}

// runCommand does what the command line says, or says why it cannot.
func (a *app) runCommand(line string) tea.Cmd {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	name, args := strings.ToLower(fields[0]), fields[1:]
	switch name {
	case "q", "quit", "q!":
		return a.quitCmd()
	case "help", "h", "?":
		a.showHelp, a.helpScroll = true, 0
		return nil
	case "store", "s", "region", "r":
		if len(args) != 1 {
			a.setFlash(":"+name+" wants one id, e.g. :"+name+" 2", true)
			return nil
		}
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil || id == 0 {
			a.setFlash(":"+name+": "+strconv.Quote(args[0])+" is not an id", true)
			return nil
		}
		if name == "store" || name == "s" {
			if findStore(a.shown, id) == nil {
				a.setFlash("no store "+args[0]+" in the current snapshot", true)
				return nil
			}
			a.openStore(id)
			return nil
		}
		if !a.openRegionByID(id) {
			a.setFlash("no region "+args[0]+" in the current snapshot (split or merged away? try :events region "+args[0]+")", true)
		}
		return nil
	}
	v, ok := commandViews[name]
	if !ok {
		a.setFlash("unknown command :"+name+" (try :store N, :region N, :regions FILTER, :q; ? lists them)", true)
		return nil
	}
	if v == viewOverview {
		a.switchView(v)
		return nil
	}
	a.showFiltered(v, strings.Join(args, " "))
	return nil
}

// copyChoice is one thing y can copy.
type copyChoice struct {
	key   rune
	label string
	value string
}

// copyChoices are what the operator is looking at can give: a region's id,
// key and error, a store's id, address and error, an event's text.
func (a *app) copyChoices() []copyChoice {
	s := a.shown
	if s == nil {
		return nil
	}
	region := func(r *snapshots.Region) []copyChoice {
		out := []copyChoice{
			{'i', "region id", strconv.FormatUint(r.ID, 10)},
			{'k', "start key (hex)", r.Start},
			{'s', "span", a.names.spanName(r.Start, r.End)},
		}
		if r.LastError != "" {
			out = append(out, copyChoice{'e', "last error", r.LastError})
		}
		return out
	}
	store := func(st *snapshots.Store) []copyChoice {
		out := []copyChoice{{'i', "store id", strconv.FormatUint(st.ID, 10)}, {'a', "address", st.Addr}}
		if st.LastError != "" {
			out = append(out, copyChoice{'e', "last error", st.LastError})
		}
		return out
	}
	entry := func(e *snapshots.LogEntry) []copyChoice {
		return []copyChoice{{'t', "event", e.At.Format("2006-01-02T15:04:05.000Z07:00") + " " + e.Kind + " " + e.Subject + ": " + e.Text}}
	}
	if d := a.detail; d != nil {
		switch {
		case d.flush != nil:
			start, end := d.flush.span()
			return []copyChoice{{'s', "span", a.names.spanName(start, end)}, {'k', "start key (hex)", start}}
		case d.store:
			if st := findStore(s, d.id); st != nil {
				return store(st)
			}
		default:
			if r := findRegion(s, d.sub, d.id); r != nil {
				return region(r)
			}
			return []copyChoice{{'i', "region id", strconv.FormatUint(d.id, 10)}}
		}
		return nil
	}
	if a.view == viewOverview {
		if i := a.overview.selected(); i >= 0 {
			t := a.overview.targets[i]
			switch {
			case t.region != 0:
				if r := findRegion(s, t.sub, t.region); r != nil {
					return region(r)
				}
			case t.store != 0:
				if st := findStore(s, t.store); st != nil {
					return store(st)
				}
			}
		}
		return nil
	}
	l := a.lists[a.view]
	i, ok := l.selected()
	if !ok {
		return nil
	}
	switch a.view {
	case viewRegions:
		var row snapshots.Region
		s.RegionTable().Row(int(i), &row)
		return region(&row)
	case viewStores:
		return store(&s.Stores[i])
	case viewRetries:
		r := l.model.(*retriesView).row(i)
		start, end := r.span()
		out := []copyChoice{{'k', "start key (hex)", start}, {'s', "span", a.names.spanName(start, end)}}
		if r.region() != 0 {
			out = append([]copyChoice{{'i', "region id", strconv.FormatUint(r.region(), 10)}}, out...)
		}
		return out
	case viewReloads:
		start, end := l.model.(*reloadsView).row(i).span()
		return []copyChoice{{'s', "span", a.names.spanName(start, end)}, {'k', "start key (hex)", start}}
	case viewEvents:
		return entry(&s.Log[i])
	case viewActions:
		ac := &s.Actions[i]
		return []copyChoice{{'t', "action", ac.At.Format("2006-01-02T15:04:05Z07:00") + " " + ac.Action + " " + ac.Target + ": " + ac.Result}}
	case viewRows:
		e := &s.Events[i]
		return []copyChoice{{'k', "key (hex)", e.Key}, {'i', "region id", strconv.FormatUint(e.RegionID, 10)}}
	}
	return nil
}

// startCopy is y: with one choice it copies at once, with more it asks.
func (a *app) startCopy() tea.Cmd {
	choices := a.copyChoices()
	switch len(choices) {
	case 0:
		a.setFlash("nothing to copy here", false)
		return nil
	case 1:
		return a.copyValue(choices[0])
	}
	a.copying = true
	return nil
}

// copyKey picks what to copy; any other key cancels.
func (a *app) copyKey(msg tea.KeyMsg) tea.Cmd {
	a.copying = false
	if msg.Type == tea.KeyRunes && len(msg.Runes) == 1 {
		for _, c := range a.copyChoices() {
			if c.key == msg.Runes[0] {
				return a.copyValue(c)
			}
		}
	}
	a.setFlash("copy cancelled", false)
	return nil
}

// copyPrompt is the status line while y waits for its choice.
func (a *app) copyPrompt() string {
	parts := []string{" copy:"}
	for _, c := range a.copyChoices() {
		parts = append(parts, string(c.key)+" "+c.label)
	}
	return strings.Join(parts, "  ") + "   (any other key cancels)"
}

// copyValue puts text on the clipboard with OSC 52, which the terminal
// (and tmux, with set-clipboard on) carries to the system clipboard, over
// ssh too. It is written from a command, outside the frame: the frame
// keeps only colours (keepOnlySGR).
func (a *app) copyValue(c copyChoice) tea.Cmd {
	value := snapshots.CleanString(c.value)
	a.setFlash("copied "+c.label+" to the clipboard: "+value, false)
	out := a.clipboard
	seq := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(value)) + "\x07"
	return func() tea.Msg {
		if out != nil {
			_, _ = out.Write([]byte(seq))
		}
		return nil
	}
}

// openPager is l: the log file in $PAGER (less by default), the UI
// suspended meanwhile.
func (a *app) openPager() tea.Cmd {
	path := a.opts.LogPath
	if path == "" {
		a.setFlash("no log file (--log-file is empty, or there was no place to write one)", true)
		return nil
	}
	argv := strings.Fields(os.Getenv("PAGER"))
	if len(argv) == 0 {
		argv = []string{"less"}
	}
	argv = append(argv, path)
	cmd := exec.Command(argv[0], argv[1:]...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg {
		if err != nil {
			return pagerDoneMsg{err: err, pager: argv[0]}
		}
		return pagerDoneMsg{}
	})
}

type pagerDoneMsg struct {
	err   error
	pager string
}
