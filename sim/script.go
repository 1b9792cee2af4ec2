package sim

// This file is the fault-script parser (DESIGN §7). It is pure: it turns text
// into Actions and reports the first mistake with file:line, and it never
// resolves "random" targets or looks at a cluster. The executor does that at
// run time with --seed, so the same script and seed replay the same faults.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Verb is what one fault-script action does.
type Verb string

// The verbs of the fault-script grammar (DESIGN §7).
const (
	VerbSplit          Verb = "split"           // split region R|random [into N]
	VerbMerge          Verb = "merge"           // merge region R|random
	VerbTransferLeader Verb = "transfer-leader" // transfer-leader region R|random [to S]
	VerbStopStore      Verb = "stop-store"      // stop-store S|random
	VerbDrainStore     Verb = "drain-store"     // drain-store S|random
	VerbRemoveStore    Verb = "remove-store"    // remove-store S|random
	VerbStartStore     Verb = "start-store"     // start-store S|random
	VerbRestartStore   Verb = "restart-store"   // restart-store S|random after D
	VerbHangStore      Verb = "hang-store"      // hang-store S|random for D
	VerbBusyStore      Verb = "busy-store"      // busy-store S|random for D
	VerbCongestRegion  Verb = "congest-region"  // congest-region R|random for D
	VerbSlowStore      Verb = "slow-store"      // slow-store S|random DELAY for D
	VerbKillStream     Verb = "kill-stream"     // kill-stream S|random [unavailable|unknown]
	VerbLock           Verb = "lock"            // lock region R|random for D
	VerbSilenceRegion  Verb = "silence-region"  // silence-region R|random for D
	VerbPDDown         Verb = "pd-down"         // pd-down for D
	VerbWriteRate      Verb = "write-rate"      // write-rate ROWS_PER_S
	VerbStopFaults     Verb = "stop-faults"     // stop-faults
)

// Codes a kill-stream action ends the stream with. They are the two gRPC
// statuses the puller must treat differently: unavailable is an ordinary store
// failure, unknown is what an unexpected server error looks like.
const (
	KillCodeUnavailable = "unavailable"
	KillCodeUnknown     = "unknown"
)

// Verbs lists every verb in the order the grammar documents them. Tests and
// error messages use it so that a new verb cannot be half-added.
func Verbs() []Verb {
	return []Verb{
		VerbSplit, VerbMerge, VerbTransferLeader, VerbStopStore, VerbDrainStore, VerbRemoveStore, VerbStartStore,
		VerbRestartStore, VerbHangStore, VerbBusyStore, VerbCongestRegion,
		VerbSlowStore, VerbKillStream, VerbLock, VerbSilenceRegion, VerbPDDown,
		VerbWriteRate, VerbStopFaults,
	}
}

// example is a complete line using every part of the verb's grammar. Errors
// show it because an operator fixing a script mid-incident copies an example
// faster than they read a grammar.
func (v Verb) example() string {
	switch v {
	case VerbSplit:
		return "at 2s split region 5 into 3"
	case VerbMerge:
		return "at 3s merge region 7"
	case VerbTransferLeader:
		return "at 4s transfer-leader region 5 to 2"
	case VerbStopStore:
		return "at 5s stop-store 2"
	case VerbDrainStore:
		return "at 5s drain-store 2"
	case VerbRemoveStore:
		return "at 5s remove-store 3"
	case VerbStartStore:
		return "at 9s start-store 2"
	case VerbRestartStore:
		return "at 5s restart-store 2 after 3s"
	case VerbHangStore:
		return "at 6s hang-store 1 for 5s"
	case VerbBusyStore:
		return "at 3s busy-store 1 for 4s"
	case VerbCongestRegion:
		return "at 3s congest-region 5 for 2s"
	case VerbSlowStore:
		return "at 4s slow-store 3 200ms for 5s"
	case VerbKillStream:
		return "at 2s kill-stream 1 unknown"
	case VerbLock:
		return "at 2s lock region 4 for 10s"
	case VerbSilenceRegion:
		return "at 2s silence-region 4 for 20s"
	case VerbPDDown:
		return "at 1s pd-down for 3s"
	case VerbWriteRate:
		return "at 0s write-rate 5000"
	case VerbStopFaults:
		return "at 10s stop-faults"
	}
	return ""
}

func knownVerbs() string {
	names := make([]string, 0, len(Verbs()))
	for _, v := range Verbs() {
		names = append(names, string(v))
	}
	return "known: " + strings.Join(names, ", ")
}

// Action is one parsed line of a fault script. Fields that a verb does not use
// are zero.
type Action struct {
	Line  int           // 1-based line number in the file
	Text  string        // the line as written (trimmed, comment removed), for logs
	At    time.Duration // for "at": when, after the sim starts; for "every": the first run
	Every time.Duration // the period for "every"; 0 for "at"
	Verb  Verb

	// Region is the target region id; 0 when Random or when the verb takes no
	// region.
	Region uint64
	// Store is the target store id of a store verb, or the destination of
	// transfer-leader ("to S"); 0 when Random or absent. For transfer-leader,
	// 0 means the executor picks a follower's store with the seed.
	Store uint64
	// Random means the target region (region verbs) or store (store verbs) is
	// chosen by the executor at run time with --seed.
	Random bool

	Into  int           // split: how many parts (2 unless "into N")
	For   time.Duration // "for D" windows; restart-store's "after D" downtime
	Delay time.Duration // slow-store: delay added to every message
	Code  string        // kill-stream: KillCodeUnavailable (default) or KillCodeUnknown
	Rate  float64       // write-rate: rows per second, >= 0
}

// Script is a parsed fault script. Actions are in file order, not time order:
// the executor schedules them, and file order keeps "at the same time" actions
// deterministic.
type Script struct {
	Path    string
	Actions []Action
}

// ScriptError is a problem on one line of a fault script. Its message starts
// with "file:line:" so that editors and terminals can jump to the line, then
// says what was wrong and, in Hint, what would have been accepted.
type ScriptError struct {
	Path string // the script's path as given (or "script" when there is none)
	Line int    // 1-based
	Msg  string // what was wrong
	Err  error  // the underlying cause (e.g. from time.ParseDuration), or nil
	Hint string // what is accepted, e.g. `e.g. "at 3s busy-store 1 for 4s"`
}

func (e *ScriptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s", e.Path, e.Line, e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *ScriptError) Unwrap() error { return e.Err }

// LoadScript reads and parses the fault script at path.
//
// A script is a small regular file: a device (/dev/zero), a named pipe
// (which would block opening it) or a file over MaxScriptSize is refused
// at once with what to do.
func LoadScript(path string) (*Script, error) {
	// Non-blocking: opening a named pipe with no writer must not hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// The *PathError already names the file.
		return nil, fmt.Errorf("fault script: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("fault script: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("fault script %s: not a regular file (%s): write the script to a file and name that", path, fi.Mode().Type())
	}
	if fi.Size() > MaxScriptSize {
		return nil, fmt.Errorf("fault script %s: %d bytes, more than the %d a script may have: is it the right file?", path, fi.Size(), MaxScriptSize)
	}
	return ParseScript(path, io.LimitReader(f, MaxScriptSize))
}

// MaxScriptSize bounds a fault script, in bytes: a script is a few lines.
const MaxScriptSize = 1 << 20

// ParseScript parses a fault script read from r. path is used only in error
// messages and Script.Path. It stops at the first bad line: a half-applied
// fault script would make a chaos run mean something other than what the
// operator wrote, so nothing is returned with the error.
func ParseScript(path string, r io.Reader) (*Script, error) {
	if path == "" {
		path = "script"
	}
	// Scripts are a few lines; reading them whole avoids bufio.Scanner's
	// line-length limit turning a long line into a confusing error.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("fault script %s: %w", path, err)
	}
	s := &Script{Path: path}
	for i, line := range strings.Split(string(data), "\n") {
		if i == 0 {
			// Editors on some systems start UTF-8 files with a byte-order mark.
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if hash := strings.IndexByte(line, '#'); hash >= 0 {
			line = line[:hash]
		}
		line = strings.TrimSpace(line) // also drops the \r of CRLF files
		if line == "" {
			continue
		}
		a, serr := parseLine(line)
		if serr != nil {
			serr.Path, serr.Line = path, i+1
			return nil, serr
		}
		a.Line = i + 1
		s.Actions = append(s.Actions, a)
	}
	return s, nil
}

// Validate checks the ids the script names against the cluster as it is when
// the script starts. Regions created by splits at run time do not exist yet,
// so a script cannot name them; it reaches them with "random". A nil function
// skips that check.
func (s *Script) Validate(regionExists func(uint64) bool, storeExists func(uint64) bool) error {
	if s == nil {
		return nil
	}
	for _, a := range s.Actions {
		if a.Region != 0 && regionExists != nil && !regionExists(a.Region) {
			return &ScriptError{Path: s.Path, Line: a.Line,
				Msg:  fmt.Sprintf("unknown region %d", a.Region),
				Hint: `use "random" for regions made at run time`}
		}
		if a.Store != 0 && storeExists != nil && !storeExists(a.Store) {
			return &ScriptError{Path: s.Path, Line: a.Line,
				Msg: fmt.Sprintf("unknown store %d", a.Store)}
		}
	}
	return nil
}

// lineParser walks the whitespace-separated words of one non-empty line.
type lineParser struct {
	text string
	toks []string
	pos  int
	verb Verb // set once the verb is known, to pick the example for errors
}

// parseLine parses one trimmed, comment-free, non-empty line. The returned
// error lacks Path and Line; the caller knows them.
func parseLine(text string) (Action, *ScriptError) {
	p := &lineParser{text: text, toks: strings.Fields(text)}
	a := Action{Text: text}

	switch kw, _ := p.next(); kw {
	case "at":
		d, err := p.duration(`"at" time`, `"at" needs a time`, false)
		if err != nil {
			return Action{}, err
		}
		a.At = d
	case "every":
		d, err := p.duration(`"every" period`, `"every" needs a period`, true)
		if err != nil {
			return Action{}, err
		}
		a.At, a.Every = d, d
	default:
		return Action{}, &ScriptError{
			Msg:  fmt.Sprintf(`a line must start with "at D" or "every D", got %q`, kw),
			Hint: `e.g. "at 2s split region 5" or "every 50ms transfer-leader random"`,
		}
	}

	word, ok := p.next()
	if !ok {
		return Action{}, &ScriptError{
			Msg:  fmt.Sprintf("%q needs an action after the time", text),
			Hint: knownVerbs(),
		}
	}
	a.Verb = Verb(word)
	if a.Verb.example() == "" {
		return Action{}, &ScriptError{Msg: fmt.Sprintf("unknown verb %q", word), Hint: knownVerbs()}
	}
	p.verb = a.Verb
	if err := p.args(&a); err != nil {
		return Action{}, err
	}
	if tok, ok := p.peek(); ok {
		return Action{}, p.fail("unexpected %q after %q", tok, strings.Join(p.toks[:p.pos], " "))
	}
	return a, nil
}

// args parses what follows the verb.
func (p *lineParser) args(a *Action) *ScriptError {
	var err *ScriptError
	switch a.Verb {
	case VerbSplit:
		if err = p.regionTarget(a); err != nil {
			return err
		}
		a.Into = 2
		if p.accept("into") {
			a.Into, err = p.splitCount()
		}
	case VerbMerge:
		err = p.regionTarget(a)
	case VerbTransferLeader:
		if err = p.regionTarget(a); err != nil {
			return err
		}
		if p.accept("to") {
			// "to random" is the same as no "to": the executor picks.
			a.Store, _, err = p.id("store", fmt.Sprintf(`%q needs a store id after "to"`, a.Verb))
		}
	case VerbStopStore, VerbStartStore, VerbDrainStore, VerbRemoveStore:
		err = p.storeTarget(a)
	case VerbRestartStore:
		if err = p.storeTarget(a); err != nil {
			return err
		}
		if !p.accept("after") {
			return p.needs(`"after D"`)
		}
		a.For, err = p.duration(`"after" downtime`, fmt.Sprintf(`%q needs a downtime after "after"`, a.Verb), false)
	case VerbHangStore, VerbBusyStore:
		if err = p.storeTarget(a); err != nil {
			return err
		}
		a.For, err = p.window()
	case VerbCongestRegion, VerbSilenceRegion:
		if a.Region, a.Random, err = p.id("region", fmt.Sprintf("%q needs a region id", a.Verb)); err != nil {
			return err
		}
		a.For, err = p.window()
	case VerbSlowStore:
		if err = p.storeTarget(a); err != nil {
			return err
		}
		if tok, ok := p.peek(); !ok || tok == "for" {
			return p.needs("a per-message delay")
		}
		if a.Delay, err = p.duration(`"slow-store" delay`, "", true); err != nil {
			return err
		}
		a.For, err = p.window()
	case VerbKillStream:
		if err = p.storeTarget(a); err != nil {
			return err
		}
		a.Code = KillCodeUnavailable
		if tok, ok := p.peek(); ok {
			if tok != KillCodeUnavailable && tok != KillCodeUnknown {
				return &ScriptError{
					Msg:  fmt.Sprintf("unknown kill-stream code %q in %q", tok, p.text),
					Hint: "known: " + KillCodeUnavailable + ", " + KillCodeUnknown,
				}
			}
			a.Code = tok
			p.pos++
		}
	case VerbLock:
		if err = p.regionTarget(a); err != nil {
			return err
		}
		a.For, err = p.window()
	case VerbPDDown:
		a.For, err = p.window()
	case VerbWriteRate:
		a.Rate, err = p.rate()
	case VerbStopFaults:
		if a.Every != 0 {
			return &ScriptError{
				Msg:  fmt.Sprintf(`%q cannot repeat: it ends every "every" action`, a.Verb),
				Hint: `e.g. "at 10s stop-faults"`,
			}
		}
	}
	return err
}

func (p *lineParser) next() (string, bool) {
	tok, ok := p.peek()
	if ok {
		p.pos++
	}
	return tok, ok
}

func (p *lineParser) peek() (string, bool) {
	if p.pos >= len(p.toks) {
		return "", false
	}
	return p.toks[p.pos], true
}

// accept consumes the next word if it is word.
func (p *lineParser) accept(word string) bool {
	if tok, ok := p.peek(); ok && tok == word {
		p.pos++
		return true
	}
	return false
}

// fail builds an error whose hint is the verb's example line.
func (p *lineParser) fail(format string, args ...any) *ScriptError {
	ex := p.verb.example()
	if ex == "" { // the verb is not known yet
		ex = "at 2s split region 5"
	}
	return &ScriptError{Msg: fmt.Sprintf(format, args...), Hint: fmt.Sprintf("e.g. %q", ex)}
}

// needs reports that the verb is missing what, and what stood there instead.
func (p *lineParser) needs(what string) *ScriptError {
	if tok, ok := p.peek(); ok {
		return p.fail("%q needs %s after %q, got %q", p.verb, what, strings.Join(p.toks[:p.pos], " "), tok)
	}
	return p.fail("%q needs %s", p.verb, what)
}

// duration parses the next word as a Go duration. what names the value in
// range errors (`"every" period`); zero is accepted unless positive is set.
// missing is the message when there is no next word.
func (p *lineParser) duration(what, missing string, positive bool) (time.Duration, *ScriptError) {
	tok, ok := p.next()
	if !ok {
		return 0, p.fail("%s", missing)
	}
	d, err := time.ParseDuration(tok)
	if err != nil {
		return 0, &ScriptError{
			Msg:  fmt.Sprintf("bad duration %q in %q", tok, p.text),
			Err:  err,
			Hint: "want a Go duration such as 500ms, 2s or 1m30s",
		}
	}
	switch {
	case positive && d <= 0:
		return 0, p.fail("%s must be greater than 0, got %q in %q", what, tok, p.text)
	case d < 0:
		return 0, p.fail("%s must not be negative, got %q in %q", what, tok, p.text)
	}
	return d, nil
}

// window parses the "for D" that every temporary fault needs: a fault that
// never ends would keep the chaos test's "recovers after faults stop"
// invariant from ever being checked.
func (p *lineParser) window() (time.Duration, *ScriptError) {
	if !p.accept("for") {
		return 0, p.needs(`"for D"`)
	}
	return p.duration(`"for" duration`, fmt.Sprintf(`%q needs a duration after "for"`, p.verb), true)
}

// id parses a region or store id or "random". Id 0 is rejected because PD and
// TiKV never allocate it, so it can only be a typo.
func (p *lineParser) id(kind, missing string) (id uint64, random bool, err *ScriptError) {
	tok, ok := p.next()
	if !ok {
		return 0, false, p.fail("%s", missing)
	}
	if tok == "random" {
		return 0, true, nil
	}
	n, perr := strconv.ParseUint(tok, 10, 64)
	if perr != nil || n == 0 {
		return 0, false, p.fail(`bad %s id %q in %q: want a positive integer or "random"`, kind, tok, p.text)
	}
	return n, false, nil
}

// regionTarget parses "region R", "region random" or a bare "random".
func (p *lineParser) regionTarget(a *Action) *ScriptError {
	switch tok, ok := p.peek(); {
	case ok && tok == "random":
		p.pos++
		a.Random = true
		return nil
	case ok && tok == "region":
		p.pos++
		var err *ScriptError
		a.Region, a.Random, err = p.id("region", fmt.Sprintf(`%q needs a region id after "region"`, p.verb))
		return err
	}
	return p.needs(`"region R" or "random"`)
}

func (p *lineParser) storeTarget(a *Action) *ScriptError {
	var err *ScriptError
	a.Store, a.Random, err = p.id("store", fmt.Sprintf("%q needs a store id", p.verb))
	return err
}

func (p *lineParser) splitCount() (int, *ScriptError) {
	tok, ok := p.next()
	if !ok {
		return 0, p.fail(`%q needs a count after "into"`, p.verb)
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 2 {
		return 0, p.fail("bad split count %q in %q: want an integer >= 2", tok, p.text)
	}
	return n, nil
}

func (p *lineParser) rate() (float64, *ScriptError) {
	tok, ok := p.next()
	if !ok {
		return 0, p.fail("%q needs a rate in rows per second", p.verb)
	}
	r, err := strconv.ParseFloat(tok, 64)
	if err != nil || CheckWriteRate(r) != nil {
		return 0, p.fail("bad write rate %q in %q: want a number of rows per second from 0 to %d", tok, p.text, MaxWriteRate)
	}
	return r, nil
}
