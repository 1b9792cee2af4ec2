package ui

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

// Source is where snapshots come from: the live engine, or a file in replay
// mode. Snapshot must not block: the UI calls it on every refresh tick from
// its event loop. It may return the same *State again (nothing changed) or
// nil (nothing published yet).
type Source interface{ Snapshot() *snapshots.State }

// Controller carries out operator actions; nil in replay and --read-only
// mode. Calls may block briefly (they go through the engine's event loop),
// so the UI makes them from a tea.Cmd, never from Update.
type Controller interface {
	PauseStore(storeID uint64) error
	ResumeStore(storeID uint64) error
	ForceReloadRegion(subscription, regionID uint64) error
	ForceReloadSpan(subscription uint64, startHex, endHex string) error
	// ForceReloadRegions reloads exactly these regions (merging only those
	// that touch): R on a filtered region list.
	ForceReloadRegions(subscription uint64, regionIDs []uint64) error
}

// Options configure the UI.
type Options struct {
	Source Source
	// Controller nil means read-only: P and R are disabled and hidden.
	Controller Controller
	// ReadOnlyReason is shown when the operator presses P or R in
	// read-only mode, e.g. "replay of snap.json: actions are disabled" or
	// "--read-only". Setting it also makes the UI read-only.
	ReadOnlyReason string
	// RefreshInterval is how often the Source is polled (default 1s);
	// + and - move it between 250ms and 5s.
	RefreshInterval time.Duration
	// SaveSnapshot writes the snapshot on screen (ctrl+s) and returns its
	// path. nil disables ctrl+s.
	SaveSnapshot func(*snapshots.State) (path string, err error)
	// Now is the clock (default time.Now); tests pin it.
	Now func() time.Time
	// SourceLabel names the source in the header, e.g. "replay snap.json".
	// Empty derives it from the snapshot (PD addresses, embedded sim).
	SourceLabel string
	// Replay: the source is a saved snapshot. The header shows when it was
	// captured (date and zone) instead of its ticking age, and the keys
	// that only make sense live (freeze, refresh rate, actions, the log
	// file) are hidden. A ReadOnlyReason starting with "replay" implies it.
	Replay bool
	// LogPath is the log file (help shows it; l opens it in $PAGER); empty
	// when there is none.
	LogPath string
	// Clipboard is where y writes its OSC 52 sequence; nil means the
	// terminal (Run's output). Tests set it.
	Clipboard io.Writer
	// History is how much of the past the UI keeps for scrubbing
	// (--history); 0 keeps nothing. A snapshot that carries its own
	// timeline (a replayed file) brings it whatever this says.
	History time.Duration
	// Context, when cancelled, stops the UI at once with the terminal
	// restored (Run returns tea.ErrProgramKilled): the command cancels it
	// on SIGHUP, which would otherwise leave the terminal raw.
	Context context.Context
}

// Minimum terminal size; below it the UI shows a notice instead of views
// that would be cut into nonsense.
const (
	minWidth  = 60
	minHeight = 15
)

// flashFor is how long a flash message stays in the status line.
const flashFor = 8 * time.Second

// refreshSteps are the intervals + and - step through. Below 250ms the UI
// would spend its time re-sorting (btop #793: input lags below ~1s); above
// 5s an operator thinks it has hung.
var refreshSteps = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2 * time.Second, 3 * time.Second, 5 * time.Second,
}

type viewID int

const (
	viewOverview viewID = iota
	viewRegions
	viewRetries
	viewReloads
	viewStores
	viewEvents // the event log: what happened
	viewActions
	viewRows // delivered rows
	numViews
)

// viewNames in key order (1–8). Events (what happened) and Actions keep the
// keys an incident needs close together; Rows, the delivered data, comes
// last: it answers "is data flowing", not "what went wrong".
var viewNames = [numViews]string{"Overview", "Regions", "Retries", "Reloads", "Stores", "Events", "Actions", "Rows"}

// Messages.
type (
	tickMsg       struct{}
	actionDoneMsg struct {
		what string
		err  error
	}
	savedMsg struct {
		path string
		err  error
	}
)

// Model is the root bubbletea model. It is a handle: copies share one
// state, which bubbletea never notices because it only ever holds the
// latest copy; it lets View reuse buffers across frames.
type Model struct{ a *app }

// app is the UI's state. Owned by the bubbletea goroutine: Update and View
// run there, and everything else reaches it through messages.
type app struct {
	opts     Options
	readOnly bool
	replay   bool
	keys     KeyMap
	theme    *Theme
	help     help.Model
	names    *keyNames
	hist     *history
	ctx      *renderCtx

	width, height int
	bodyHeight    int
	tabX          [numViews][2]int // each tab's cells [from, to) on the tab line, for the mouse
	overviewFrom  int              // the Overview's first line on screen
	hdrRight      []byte           // the header's right end, reused
	srcLabel      struct {         // sourceLabel's answer for one snapshot
		s       *snapshots.State
		compact bool
		text    string
	}
	clipboard io.Writer

	// The incident timeline: what was pulled (or replayed) over the last
	// History, and, while the screen shows a past moment, the cursor at it.
	rec           *snapshots.Recorder
	cursor        *snapshots.Cursor
	historyLoaded bool
	// track follows the timeline of the region whose detail is open.
	track             *snapshots.RegionTrack
	trackSub, trackID uint64

	// feed tells takeTable what changed since the last table taken.
	feed view.Feed

	shown    *snapshots.State // the snapshot on screen
	latest   *snapshots.State // the newest one the Source gave, cleaned
	fromSrc  *snapshots.State // latest as the Source gave it
	received int              // distinct snapshots seen; >1 means the source is live
	frozen   bool
	frozenAt time.Time
	behind   uint64
	interval time.Duration

	view     viewID
	lists    [numViews]*listView // nil for the Overview
	overview *overviewView
	detail   *detailView
	// back is the navigation stack under the page on screen, oldest
	// first; opened is the filter that page was opened with (nav.go).
	back     []place
	opened   string
	confirm  *confirmDialog
	showHelp bool

	filtering    bool
	filterInput  lineEdit
	filterBefore string

	cmdline  bool // the : command line is open
	cmdInput lineEdit
	copying  bool // y was pressed: the next key says what to copy
	// helpScroll is the help overlay's first line.
	helpScroll int

	flash    string
	flashErr bool
	flashAt  time.Time
	inflight int

	quit     chan struct{} // closed on quit, to release a pending tick
	quitOnce sync.Once

	frame      []byte // reused frame buffer
	footer     string // cached short help
	footerSize int
	footerFor  int // the place it was made for (footerPlace)
	// foreignBytes is what the last frame's final check dropped: bytes
	// that would have driven the terminal. Always 0 unless something
	// slipped past the cleaning (tests check it).
	foreignBytes int
}

// New builds the UI model and takes the first snapshot, so the first frame
// already has data.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// The labels name files the operator gave (replay of FILE).
	opts.SourceLabel = snapshots.CleanString(opts.SourceLabel)
	opts.ReadOnlyReason = snapshots.CleanString(opts.ReadOnlyReason)
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Second
	}
	opts.RefreshInterval = min(max(opts.RefreshInterval, refreshSteps[0]), refreshSteps[len(refreshSteps)-1])
	readOnly := opts.Controller == nil || opts.ReadOnlyReason != ""
	if opts.SourceLabel == "" && strings.HasPrefix(opts.ReadOnlyReason, "replay") {
		// Replay says so in its reason ("replay of snap.json: …"); the
		// header must not let a saved snapshot pass for a live cluster.
		opts.SourceLabel, _, _ = strings.Cut(opts.ReadOnlyReason, ":")
	}
	if readOnly && opts.ReadOnlyReason == "" {
		opts.ReadOnlyReason = "read-only: no controller, actions are disabled"
	}
	a := &app{
		opts:      opts,
		readOnly:  readOnly,
		replay:    opts.Replay || strings.HasPrefix(opts.ReadOnlyReason, "replay"),
		keys:      DefaultKeyMap(readOnly, opts.SaveSnapshot != nil),
		theme:     NewTheme(),
		help:      help.New(),
		names:     newKeyNames(),
		hist:      newHistory(),
		interval:  opts.RefreshInterval,
		clipboard: opts.Clipboard,
		quit:      make(chan struct{}),
		// Until bubbletea reports the size (it cannot when the output is
		// not a terminal), assume the classic one.
		width:  80,
		height: 24,
	}
	if a.replay {
		// Nothing live to freeze, refresh or page through.
		a.keys.Freeze.SetEnabled(false)
		a.keys.Slower.SetEnabled(false)
		a.keys.Faster.SetEnabled(false)
	}
	a.keys.Pager.SetEnabled(opts.LogPath != "" && !a.replay)
	if opts.History > 0 {
		a.rec = snapshots.NewRecorder(opts.History)
	}
	a.ctx = &renderCtx{names: a.names, theme: a.theme}
	a.overview = &overviewView{ctx: a.ctx, loc: opts.Now().Location()}
	a.lists[viewRegions] = newListView(&regionsView{ctx: a.ctx}, a.names)
	a.lists[viewRetries] = newListView(&retriesView{ctx: a.ctx}, a.names)
	a.lists[viewReloads] = newListView(&reloadsView{ctx: a.ctx}, a.names)
	a.lists[viewStores] = newListView(&storesView{ctx: a.ctx}, a.names)
	a.lists[viewEvents] = newListView(&eventsView{ctx: a.ctx, loc: opts.Now().Location()}, a.names)
	a.lists[viewActions] = newListView(&actionsView{ctx: a.ctx, loc: opts.Now().Location()}, a.names)
	a.lists[viewRows] = newListView(&rowsView{ctx: a.ctx}, a.names)
	a.lists[viewEvents].stickyTop = true
	a.lists[viewActions].stickyTop = true
	a.lists[viewRows].stickyTop = true
	a.lists[viewRows].tail = true

	a.pull()
	return Model{a: a}
}

// Init starts the refresh timer.
func (m Model) Init() tea.Cmd { return m.a.tick() }

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.a.update(msg)
	m.a.layout()
	return m, cmd
}

// View renders the screen.
func (m Model) View() string { return m.a.render() }

// Idle reports whether no operator action is in flight, so tests can wait
// for "press key → action done" without sleeping (lazygit's busy/idle).
func (m Model) Idle() bool { return m.a.inflight == 0 }

// Run runs the UI full-screen until the operator quits. nil input or output
// mean the process's terminal.
func Run(opts Options, input io.Reader, output io.Writer) error {
	if opts.Clipboard == nil {
		opts.Clipboard = output
		if output == nil {
			opts.Clipboard = os.Stdout
		}
	}
	m := New(opts)
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithMouseCellMotion()}
	if opts.Context != nil {
		popts = append(popts, tea.WithContext(opts.Context))
	}
	if input != nil {
		popts = append(popts, tea.WithInput(input))
	}
	if output != nil {
		popts = append(popts, tea.WithOutput(output))
	}
	_, err := tea.NewProgram(m, popts...).Run()
	m.a.stop()
	return err
}

func (a *app) stop() { a.quitOnce.Do(func() { close(a.quit) }) }

func (a *app) quitCmd() tea.Cmd {
	a.stop()
	return tea.Quit
}

// tick arms the next refresh. It is re-armed only after a tick has been
// handled, so a slow refresh can never pile ticks up. Unlike tea.Tick, it
// returns early when the UI quits, so no goroutine outlives the program.
func (a *app) tick() tea.Cmd {
	d, quit := a.interval, a.quit
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return tickMsg{}
		case <-quit:
			return nil
		}
	}
}

func (a *app) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.help.Width = msg.Width
		return nil
	case tickMsg:
		a.pull()
		return a.tick()
	case actionDoneMsg:
		a.inflight--
		if msg.err != nil {
			a.setFlash(msg.what+" failed: "+msg.err.Error(), true)
		} else {
			a.setFlash(msg.what+": done", false)
		}
		a.pull()
		return nil
	case savedMsg:
		if msg.err != nil {
			a.setFlash("saving snapshot failed: "+msg.err.Error(), true)
		} else {
			a.setFlash("snapshot saved to "+msg.path, false)
		}
		return nil
	case tea.KeyMsg:
		return a.handleKey(msg)
	case tea.MouseMsg:
		return a.handleMouse(msg)
	case pagerDoneMsg:
		if msg.err != nil {
			a.setFlash("$PAGER ("+msg.pager+") on "+a.opts.LogPath+" failed: "+msg.err.Error(), true)
		}
		return nil
	}
	return nil
}

// pull takes the Source's newest snapshot. An unchanged one costs nothing;
// while frozen a new one is only counted.
func (a *app) pull() {
	if a.opts.Source == nil {
		return
	}
	s := a.opts.Source.Snapshot()
	if s == nil || s == a.fromSrc || (a.latest != nil && s.Seq != 0 && s.Seq == a.latest.Seq) {
		return
	}
	a.fromSrc = s
	s = a.take(s, a.latest)
	a.latest = s
	a.received++
	if a.cursor != nil {
		return // the screen shows a past moment; the new one is recorded
	}
	if a.frozen {
		if a.shown != nil && s.Seq > a.shown.Seq {
			a.behind = s.Seq - a.shown.Seq
		} else {
			a.behind++
		}
		return
	}
	a.accept(s)
}

// take is where a snapshot enters the UI: it is cleaned (every string in
// it may come from a server or a file, so no view has to remember to), and
// folded into the history and the timeline recorder. It returns the
// cleaned snapshot, s itself when nothing needed cleaning. The three are
// one pass over the regions: at a million regions a pass is 280 MB of
// rows read, and reading them once per consumer was most of a refresh.
// Strings that were in the last snapshot (prev) are not read again.
func (a *app) take(s, prev *snapshots.State) *snapshots.State {
	pass := snapshots.BeginClean(s, prev)
	s = pass.State()
	a.loadHistory(s) // before the pass: the recorder may come from s's timeline
	if s.Table != nil {
		a.takeTable(s)
		return s
	}
	rec := a.rec
	recording := rec != nil && rec.BeginObserve(s)
	a.hist.beginObserve(s)
	for i := range s.Regions {
		r := pass.Region(i)
		a.hist.observeRegion(i, r)
		if recording {
			rec.ObserveRegion(i, r)
		}
	}
	s = pass.State() // a copy if a region needed cleaning
	a.hist.endObserve(s)
	if recording {
		rec.EndObserve(s)
	}
	return s
}

// takeTable is take for a snapshot whose regions are a table (a live
// engine's publish): its strings were cleaned when they were put, and the
// history and the timeline are told only what changed since the last one
// taken (view.Feed).
func (a *app) takeTable(s *snapshots.State) {
	t := s.Table
	rec := a.rec
	w := a.feed.Begin(t)
	recording := rec != nil && rec.BeginObserveN(s, t.Len(), w.Partial)
	a.hist.beginObserveN(s, t.Len(), w.Partial)
	w.Each(func(i int, r *snapshots.Region) {
		a.hist.observeRegion(i, r)
		if recording {
			rec.ObserveRegion(i, r)
		}
	}, func(k view.Key) {
		a.hist.goneRegion(k.Subscription, k.ID)
		if recording {
			rec.ObserveGone(k.Subscription, k.ID)
		}
	})
	a.hist.endObserve(s)
	if recording {
		rec.EndObserve(s)
	}
}

// accept puts s on screen and derives the visible view's rows.
func (a *app) accept(s *snapshots.State) {
	prev := a.shown
	a.shown = s
	a.names.setLimit(2 * (s.NumRegions() + len(s.Retries) + len(s.Reloads) + len(s.Events)))
	for _, l := range a.lists {
		if l != nil {
			l.setState(s)
		}
	}
	a.overview.setState(s, prev)
	a.deriveVisible()
}

// deriveVisible derives the rows of the view on screen; the others wait
// until they are shown, so a refresh costs one view's sort, not six.
func (a *app) deriveVisible() {
	a.ctx.elapsed = a.elapsedMs()
	a.ctx.past = a.past()
	if l := a.lists[a.view]; l != nil {
		l.derive()
	}
}

// elapsedMs is how far the view clock is past the shown snapshot. Countdowns
// advance by it only while the source is live and the snapshot fresh; a
// replayed file or a stalled engine shows the values as they were taken.
func (a *app) elapsedMs() int64 {
	if a.shown == nil || a.received < 2 || a.cursor != nil {
		return 0
	}
	now := a.opts.Now()
	if a.frozen {
		now = a.frozenAt
	}
	d := now.Sub(a.shown.TakenAt)
	if d < 0 || d > 3*a.interval {
		return 0
	}
	return d.Milliseconds()
}

// setFlash shows text in the status line. It often carries an error from
// the engine or the file system (a path, a server's message), so it is
// cleaned.
func (a *app) setFlash(text string, isErr bool) {
	a.flash, a.flashErr, a.flashAt = snapshots.CleanString(text), isErr, a.opts.Now()
}

func (a *app) tooSmall() bool { return a.width < minWidth || a.height < minHeight }

// layout gives the visible table the rows left between header and footer.
func (a *app) layout() {
	if a.tooSmall() {
		return
	}
	a.bodyHeight = a.height - 4 - a.bannerCount()
	if l := a.lists[a.view]; l != nil && (l.tbl.width != a.width || l.tbl.rows != a.bodyHeight-1) {
		l.tbl.setSize(a.width, a.bodyHeight)
	}
}

func (a *app) setFrozen(on bool) {
	if a.cursor != nil {
		// space in the past: back to live, as the banner says it resumes
		a.goLive()
		return
	}
	if on == a.frozen {
		return
	}
	a.frozen = on
	if on {
		a.frozenAt, a.behind = a.opts.Now(), 0
		return
	}
	a.behind = 0
	if a.latest != nil && a.latest != a.shown {
		a.accept(a.latest)
	}
}

func (a *app) stepInterval(d int) {
	i := 0
	for i < len(refreshSteps)-1 && refreshSteps[i] < a.interval {
		i++
	}
	i = max(0, min(i+d, len(refreshSteps)-1))
	a.interval = refreshSteps[i]
	a.setFlash("refresh every "+a.interval.String(), false)
}

func (a *app) handleKey(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !a.filtering && a.confirm == nil {
		return a.handleRunes(msg)
	}
	km := &a.keys
	if key.Matches(msg, km.ForceQ) {
		return a.quitCmd()
	}
	if a.confirm != nil {
		return a.answerConfirm(msg)
	}
	if a.filtering {
		a.filterKey(msg)
		return nil
	}
	if a.cmdline {
		return a.commandKey(msg)
	}
	if a.copying {
		return a.copyKey(msg)
	}
	if a.tooSmall() {
		// The operator cannot see what a key would do; only quitting is safe.
		if key.Matches(msg, km.Quit) {
			return a.quitCmd()
		}
		return nil
	}
	if a.showHelp {
		page := max(1, a.bodyHeight-1)
		switch {
		case key.Matches(msg, km.Quit):
			return a.quitCmd()
		case key.Matches(msg, km.Help, km.Back):
			a.showHelp = false
		case key.Matches(msg, km.Up):
			a.helpScroll = max(0, a.helpScroll-1)
		case key.Matches(msg, km.Down):
			a.helpScroll++
		case key.Matches(msg, km.PageUp, km.HalfUp):
			a.helpScroll = max(0, a.helpScroll-page)
		case key.Matches(msg, km.PageDown, km.HalfDown, km.Freeze):
			a.helpScroll += page
		case key.Matches(msg, km.Top):
			a.helpScroll = 0
		case key.Matches(msg, km.Bottom):
			a.helpScroll = 1 << 30 // clamped when drawn
		}
		return nil
	}

	switch {
	case key.Matches(msg, km.Quit):
		return a.quitCmd()
	case key.Matches(msg, km.Help):
		a.showHelp, a.helpScroll = true, 0
		return nil
	case key.Matches(msg, km.Command):
		a.openCommand()
		return nil
	case key.Matches(msg, km.Copy):
		return a.startCopy()
	case key.Matches(msg, km.Pager):
		return a.openPager()
	case key.Matches(msg, km.NextView):
		a.switchView(a.view + 1)
		return nil
	case key.Matches(msg, km.PrevView):
		a.switchView(a.view - 1)
		return nil
	case key.Matches(msg, km.Views):
		a.switchView(viewID(msg.String()[0] - '1'))
		return nil
	case key.Matches(msg, km.Freeze):
		a.setFrozen(!a.frozen)
		return nil
	case key.Matches(msg, km.TimeBack, km.TimeForward, km.TimeBackMinute, km.TimeForwardMinute):
		a.timelineKey(msg.String())
		return nil
	case key.Matches(msg, km.Slower):
		a.stepInterval(+1)
		return nil
	case key.Matches(msg, km.Faster):
		a.stepInterval(-1)
		return nil
	case key.Matches(msg, km.Save):
		return a.save()
	case key.Matches(msg, km.Pause):
		a.askPause()
		return nil
	case key.Matches(msg, km.Reload):
		a.askReload()
		return nil
	case key.Matches(msg, km.ReadOnlyAction):
		a.setFlash(a.opts.ReadOnlyReason, true)
		return nil
	}

	if a.detail != nil {
		switch {
		case key.Matches(msg, km.Back):
			a.escape()
		case key.Matches(msg, km.Detail):
			a.detailEnter()
		case key.Matches(msg, km.Up):
			a.detail.scroll = max(0, a.detail.scroll-1)
		case key.Matches(msg, km.Down):
			a.detail.scroll++
		case key.Matches(msg, km.Top):
			a.detail.scroll = 0
		}
		return nil
	}

	if a.view == viewOverview {
		a.overviewNav(msg)
		return nil
	}
	l := a.lists[a.view]
	if l == nil {
		return nil
	}
	rows := max(1, l.tbl.rows)
	switch {
	case key.Matches(msg, km.Up):
		l.move(func(t *table) { t.moveBy(-1) })
	case key.Matches(msg, km.Down):
		l.move(func(t *table) { t.moveBy(1) })
	case key.Matches(msg, km.PageUp):
		l.move(func(t *table) { t.moveBy(-rows) })
	case key.Matches(msg, km.PageDown):
		l.move(func(t *table) { t.moveBy(rows) })
	case key.Matches(msg, km.HalfUp):
		l.move(func(t *table) { t.moveBy(-max(1, rows/2)) })
	case key.Matches(msg, km.HalfDown):
		l.move(func(t *table) { t.moveBy(max(1, rows/2)) })
	case key.Matches(msg, km.Top):
		l.move(func(t *table) { t.moveTo(0) })
	case key.Matches(msg, km.Bottom):
		l.move(func(t *table) { t.moveTo(t.n - 1) })
	case key.Matches(msg, km.Sort):
		l.cycleSort(1)
		a.deriveVisible()
	case key.Matches(msg, km.SortPrev):
		l.cycleSort(-1)
		a.deriveVisible()
	case key.Matches(msg, km.SortReverse):
		l.reverseSort()
		a.deriveVisible()
	case key.Matches(msg, km.Filter):
		a.filtering = true
		a.filterBefore = l.filter.raw
		// The filter there is selected: typing replaces it, an arrow
		// keeps it for editing.
		a.filterInput.set(l.filter.raw)
		a.filterInput.selectAll()
	case key.Matches(msg, km.Detail):
		a.openDetail(l)
	case key.Matches(msg, km.Back):
		a.escape()
	}
	return nil
}

// handleRunes splits a run of characters into keys. bubbletea reports
// characters that arrive in one read as one message ("5j"), which happens
// whenever the operator types ahead of a busy UI, or through tmux.
func (a *app) handleRunes(msg tea.KeyMsg) tea.Cmd {
	if msg.Paste {
		return nil // a paste is text, not commands
	}
	var cmds []tea.Cmd
	for k, r := range msg.Runes {
		cmds = append(cmds, a.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
		switch {
		case a.filtering:
			// "/" opened the filter: the rest is its text.
			if rest := msg.Runes[k+1:]; len(rest) > 0 {
				a.filterKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: rest})
			}
			return tea.Batch(cmds...)
		case a.cmdline:
			// ":" opened the command line: the rest is the command.
			if rest := msg.Runes[k+1:]; len(rest) > 0 {
				a.cmdInput.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: rest})
			}
			return tea.Batch(cmds...)
		case a.confirm != nil:
			// A dialog must be answered by a key typed after it could
			// be seen; typed-ahead characters never confirm an action.
			return tea.Batch(cmds...)
		}
	}
	return tea.Batch(cmds...)
}

// filterKey edits the filter; it applies as it is typed, so the match
// count answers "is this the filter I want" before enter.
func (a *app) filterKey(msg tea.KeyMsg) {
	l := a.lists[a.view]
	switch msg.Type {
	case tea.KeyEnter:
		a.filtering = false
		return
	case tea.KeyEsc:
		a.filtering = false
		l.setFilter(a.filterBefore)
		a.deriveVisible()
		return
	}
	if a.filterInput.update(msg) {
		l.setFilter(a.filterInput.String())
		a.deriveVisible()
	}
}

func (a *app) openDetail(l *listView) {
	i, ok := l.selected()
	if !ok || a.shown == nil {
		return
	}
	s := a.shown
	switch a.view {
	case viewRegions:
		r := s.RegionTable().Static(int(i))
		a.openRegion(r.Subscription, r.ID)
	case viewRetries:
		r := a.lists[viewRetries].model.(*retriesView).row(i)
		if r.region() == 0 {
			a.setFlash("a range retry (a failed PD lookup) has no region to show; its span is in the row", false)
			return
		}
		a.openRegion(r.sub(), r.region())
	case viewReloads:
		a.pushDetail(a.reloadDetail(a.lists[viewReloads].model.(*reloadsView), i))
	case viewRows:
		e := &s.Events[i]
		a.openRegion(e.Subscription, e.RegionID)
	case viewEvents:
		a.openLogEntry(&s.Log[i])
	case viewStores:
		a.openStore(s.Stores[i].ID)
	}
}

func (a *app) save() tea.Cmd {
	s, saveFn := a.shown, a.opts.SaveSnapshot
	if s == nil {
		a.setFlash("no snapshot to save yet", true)
		return nil
	}
	if a.rec != nil && a.rec.Len() > 0 {
		// With the timeline: the newest snapshot (the moment on screen is
		// in its timeline) and everything kept before it. The copy is
		// made here: the recorder belongs to this goroutine.
		withHistory := *a.latest
		if a.cursor == nil && !a.frozen {
			withHistory = *s
		}
		withHistory.History = a.rec.History()
		withHistory.Source.HistoryMs = a.rec.Window().Milliseconds()
		s = &withHistory
	}
	a.setFlash("saving snapshot…", false)
	return func() tea.Msg {
		path, err := saveFn(s)
		return savedMsg{path: path, err: err}
	}
}

// sourceLabel names where the snapshots come from, shorter when compact.
func (a *app) sourceLabel(compact bool) string {
	if a.opts.SourceLabel != "" {
		return a.opts.SourceLabel
	}
	s := a.shown
	if s == nil {
		return "no snapshot yet"
	}
	if c := &a.srcLabel; c.s == s && c.compact == compact {
		return c.text
	}
	text := a.makeSourceLabel(s, compact)
	a.srcLabel.s, a.srcLabel.compact, a.srcLabel.text = s, compact, text
	return text
}

func (a *app) makeSourceLabel(s *snapshots.State, compact bool) string {
	pd := "PD -"
	if len(s.Source.PD) > 0 {
		pd = "PD " + s.Source.PD[0]
		if len(s.Source.PD) > 1 {
			pd += " +" + strconv.Itoa(len(s.Source.PD)-1)
		}
	}
	if s.Source.EmbeddedSim {
		if compact {
			return "sim"
		}
		return "embedded sim, " + pd
	}
	return pd
}
