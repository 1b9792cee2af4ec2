package sim

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseScriptEveryVerbAndForm(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		line string
		want Action
	}{
		{"at 2s split region 5", Action{At: 2 * s, Verb: VerbSplit, Region: 5, Into: 2}},
		{"at 2s split region 5 into 3", Action{At: 2 * s, Verb: VerbSplit, Region: 5, Into: 3}},
		{"at 2s split random", Action{At: 2 * s, Verb: VerbSplit, Random: true, Into: 2}},
		{"at 2s split region random into 4", Action{At: 2 * s, Verb: VerbSplit, Random: true, Into: 4}},
		{"every 100ms split random", Action{At: 100 * ms, Every: 100 * ms, Verb: VerbSplit, Random: true, Into: 2}},
		{"at 3s merge region 7", Action{At: 3 * s, Verb: VerbMerge, Region: 7}},
		{"at 3s merge random", Action{At: 3 * s, Verb: VerbMerge, Random: true}},
		{"at 4s transfer-leader region 5", Action{At: 4 * s, Verb: VerbTransferLeader, Region: 5}},
		{"at 4s transfer-leader region 5 to 2", Action{At: 4 * s, Verb: VerbTransferLeader, Region: 5, Store: 2}},
		{"at 4s transfer-leader region 5 to random", Action{At: 4 * s, Verb: VerbTransferLeader, Region: 5}},
		{"at 4s transfer-leader random to 3", Action{At: 4 * s, Verb: VerbTransferLeader, Random: true, Store: 3}},
		{"every 50ms transfer-leader random", Action{At: 50 * ms, Every: 50 * ms, Verb: VerbTransferLeader, Random: true}},
		{"at 5s stop-store 2", Action{At: 5 * s, Verb: VerbStopStore, Store: 2}},
		{"at 5s stop-store random", Action{At: 5 * s, Verb: VerbStopStore, Random: true}},
		{"at 9s start-store 2", Action{At: 9 * s, Verb: VerbStartStore, Store: 2}},
		{"at 5s drain-store 2", Action{At: 5 * s, Verb: VerbDrainStore, Store: 2}},
		{"at 5s remove-store random", Action{At: 5 * s, Verb: VerbRemoveStore, Random: true}},
		{"at 5s restart-store 2 after 3s", Action{At: 5 * s, Verb: VerbRestartStore, Store: 2, For: 3 * s}},
		{"at 5s restart-store random after 0s", Action{At: 5 * s, Verb: VerbRestartStore, Random: true}},
		{"at 6s hang-store 1 for 5s", Action{At: 6 * s, Verb: VerbHangStore, Store: 1, For: 5 * s}},
		{"at 3s busy-store 1 for 4s", Action{At: 3 * s, Verb: VerbBusyStore, Store: 1, For: 4 * s}},
		{"at 3s congest-region 5 for 2s", Action{At: 3 * s, Verb: VerbCongestRegion, Region: 5, For: 2 * s}},
		{"at 3s congest-region random for 2s", Action{At: 3 * s, Verb: VerbCongestRegion, Random: true, For: 2 * s}},
		{"at 4s slow-store 3 200ms for 5s", Action{At: 4 * s, Verb: VerbSlowStore, Store: 3, Delay: 200 * ms, For: 5 * s}},
		{"at 2s kill-stream 1", Action{At: 2 * s, Verb: VerbKillStream, Store: 1, Code: KillCodeUnavailable}},
		{"at 2s kill-stream 1 unavailable", Action{At: 2 * s, Verb: VerbKillStream, Store: 1, Code: KillCodeUnavailable}},
		{"at 2s kill-stream 1 unknown", Action{At: 2 * s, Verb: VerbKillStream, Store: 1, Code: KillCodeUnknown}},
		{"every 1s kill-stream random", Action{At: s, Every: s, Verb: VerbKillStream, Random: true, Code: KillCodeUnavailable}},
		{"at 2s lock region 4 for 10s", Action{At: 2 * s, Verb: VerbLock, Region: 4, For: 10 * s}},
		{"at 2s lock random for 10s", Action{At: 2 * s, Verb: VerbLock, Random: true, For: 10 * s}},
		{"at 2s silence-region 4 for 20s", Action{At: 2 * s, Verb: VerbSilenceRegion, Region: 4, For: 20 * s}},
		{"at 1s pd-down for 3s", Action{At: s, Verb: VerbPDDown, For: 3 * s}},
		{"at 0s write-rate 5000", Action{Verb: VerbWriteRate, Rate: 5000}},
		{"at 0 write-rate 0", Action{Verb: VerbWriteRate, Rate: 0}},
		{"at 1m30s write-rate 12.5", Action{At: 90 * s, Verb: VerbWriteRate, Rate: 12.5}},
		{"at 10s stop-faults", Action{At: 10 * s, Verb: VerbStopFaults}},
		{"at 1.5s   merge\tregion   18446744073709551615", Action{At: 1500 * ms, Verb: VerbMerge, Region: 1<<64 - 1}},
	}
	covered := map[Verb]bool{}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseScript("faults.txt", strings.NewReader(tt.line))
			if err != nil {
				t.Fatalf("ParseScript(%q): %v", tt.line, err)
			}
			want := tt.want
			want.Line, want.Text = 1, tt.line
			if len(got.Actions) != 1 || !reflect.DeepEqual(got.Actions[0], want) {
				t.Errorf("ParseScript(%q)\n got %+v\nwant %+v", tt.line, got.Actions, want)
			}
		})
		covered[tt.want.Verb] = true
	}
	for _, v := range Verbs() {
		if !covered[v] {
			t.Errorf("verb %q has no test case", v)
		}
	}
}

// The examples are what errors tell the operator to copy, so they must parse.
func TestVerbExamplesParse(t *testing.T) {
	for _, v := range Verbs() {
		ex := v.example()
		s, err := ParseScript("x", strings.NewReader(ex))
		if err != nil || len(s.Actions) != 1 || s.Actions[0].Verb != v {
			t.Errorf("example for %q, %q: %v", v, ex, err)
		}
	}
}

func TestParseScriptCommentsBlankLinesAndLineNumbers(t *testing.T) {
	script := "\ufeff# warm up, then churn\n" +
		"\n" +
		"   at 0s write-rate 5000   # faster than the default\r\n" +
		"\t\n" +
		"every 50ms transfer-leader random#no space before the comment\n" +
		"#at 1s pd-down for 3s\n" +
		"at 10s stop-faults\n" +
		"# trailing comment without newline"
	got, err := ParseScript("faults.txt", strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "faults.txt" {
		t.Errorf("Path = %q", got.Path)
	}
	want := []struct {
		line int
		text string
		verb Verb
	}{
		{3, "at 0s write-rate 5000", VerbWriteRate},
		{5, "every 50ms transfer-leader random", VerbTransferLeader},
		{7, "at 10s stop-faults", VerbStopFaults},
	}
	if len(got.Actions) != len(want) {
		t.Fatalf("got %d actions, want %d: %+v", len(got.Actions), len(want), got.Actions)
	}
	for i, w := range want {
		a := got.Actions[i]
		if a.Line != w.line || a.Text != w.text || a.Verb != w.verb {
			t.Errorf("action %d = {Line:%d Text:%q Verb:%q}, want {%d %q %q}", i, a.Line, a.Text, a.Verb, w.line, w.text, w.verb)
		}
	}
}

func TestParseScriptEmpty(t *testing.T) {
	for _, script := range []string{"", "\n\n", "# only comments\n  # here\n"} {
		s, err := ParseScript("faults.txt", strings.NewReader(script))
		if err != nil || len(s.Actions) != 0 {
			t.Errorf("ParseScript(%q) = %+v, %v; want no actions, no error", script, s, err)
		}
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"unknown verb", "at 2s splitt region 5",
			`unknown verb "splitt" (known: split, merge, transfer-leader, stop-store, drain-store, remove-store, start-store, restart-store, hang-store, busy-store, congest-region, slow-store, kill-stream, lock, silence-region, pd-down, write-rate, stop-faults)`},
		{"no at or every", "split region 5",
			`a line must start with "at D" or "every D", got "split" (e.g. "at 2s split region 5" or "every 50ms transfer-leader random")`},
		{"at without time", "at",
			`"at" needs a time (e.g. "at 2s split region 5")`},
		{"no verb", "at 2s",
			`"at 2s" needs an action after the time (known: split, merge, transfer-leader, stop-store, drain-store, remove-store, start-store, restart-store, hang-store, busy-store, congest-region, slow-store, kill-stream, lock, silence-region, pd-down, write-rate, stop-faults)`},
		{"bad duration", "at 5x stop-store 2",
			`bad duration "5x" in "at 5x stop-store 2": time: unknown unit "x" in duration "5x" (want a Go duration such as 500ms, 2s or 1m30s)`},
		{"duration without unit", "at 5 stop-store 2",
			`bad duration "5" in "at 5 stop-store 2": time: missing unit in duration "5" (want a Go duration such as 500ms, 2s or 1m30s)`},
		{"negative at", "at -1s stop-store 2",
			`"at" time must not be negative, got "-1s" in "at -1s stop-store 2" (e.g. "at 2s split region 5")`},
		{"every 0s", "every 0s split random",
			`"every" period must be greater than 0, got "0s" in "every 0s split random" (e.g. "at 2s split region 5")`},
		{"every negative", "every -5ms split random",
			`"every" period must be greater than 0, got "-5ms" in "every -5ms split random" (e.g. "at 2s split region 5")`},
		{"every stop-faults", "every 1s stop-faults",
			`"stop-faults" cannot repeat: it ends every "every" action (e.g. "at 10s stop-faults")`},
		{"busy-store without for", "at 3s busy-store 1",
			`"busy-store" needs "for D" (e.g. "at 3s busy-store 1 for 4s")`},
		{"busy-store duration without for", "at 3s busy-store 1 4s",
			`"busy-store" needs "for D" after "at 3s busy-store 1", got "4s" (e.g. "at 3s busy-store 1 for 4s")`},
		{"for without duration", "at 6s hang-store 1 for",
			`"hang-store" needs a duration after "for" (e.g. "at 6s hang-store 1 for 5s")`},
		{"for 0s", "at 1s pd-down for 0s",
			`"for" duration must be greater than 0, got "0s" in "at 1s pd-down for 0s" (e.g. "at 1s pd-down for 3s")`},
		{"bad for duration", "at 1s pd-down for soon",
			`bad duration "soon" in "at 1s pd-down for soon": time: invalid duration "soon" (want a Go duration such as 500ms, 2s or 1m30s)`},
		{"trailing garbage", "at 3s merge region 7 now",
			`unexpected "now" after "at 3s merge region 7" (e.g. "at 3s merge region 7")`},
		{"trailing garbage after stop-faults", "at 10s stop-faults all",
			`unexpected "all" after "at 10s stop-faults" (e.g. "at 10s stop-faults")`},
		{"missing region keyword", "at 3s merge 7",
			`"merge" needs "region R" or "random" after "at 3s merge", got "7" (e.g. "at 3s merge region 7")`},
		{"missing target", "at 3s merge",
			`"merge" needs "region R" or "random" (e.g. "at 3s merge region 7")`},
		{"missing region id", "at 2s split region",
			`"split" needs a region id after "region" (e.g. "at 2s split region 5 into 3")`},
		{"missing bare region id", "at 2s silence-region",
			`"silence-region" needs a region id (e.g. "at 2s silence-region 4 for 20s")`},
		{"missing store id", "at 5s stop-store",
			`"stop-store" needs a store id (e.g. "at 5s stop-store 2")`},
		{"zero region id", "at 2s lock region 0 for 1s",
			`bad region id "0" in "at 2s lock region 0 for 1s": want a positive integer or "random" (e.g. "at 2s lock region 4 for 10s")`},
		{"negative store id", "at 5s stop-store -2",
			`bad store id "-2" in "at 5s stop-store -2": want a positive integer or "random" (e.g. "at 5s stop-store 2")`},
		{"zero store id", "at 5s start-store 0",
			`bad store id "0" in "at 5s start-store 0": want a positive integer or "random" (e.g. "at 9s start-store 2")`},
		{"id overflow", "at 3s congest-region 18446744073709551616 for 1s",
			`bad region id "18446744073709551616" in "at 3s congest-region 18446744073709551616 for 1s": want a positive integer or "random" (e.g. "at 3s congest-region 5 for 2s")`},
		{"transfer-leader to nothing", "at 4s transfer-leader region 5 to",
			`"transfer-leader" needs a store id after "to" (e.g. "at 4s transfer-leader region 5 to 2")`},
		{"transfer-leader to zero", "at 4s transfer-leader region 5 to 0",
			`bad store id "0" in "at 4s transfer-leader region 5 to 0": want a positive integer or "random" (e.g. "at 4s transfer-leader region 5 to 2")`},
		{"split into 1", "at 2s split region 5 into 1",
			`bad split count "1" in "at 2s split region 5 into 1": want an integer >= 2 (e.g. "at 2s split region 5 into 3")`},
		{"split into nothing", "at 2s split random into",
			`"split" needs a count after "into" (e.g. "at 2s split region 5 into 3")`},
		{"restart without after", "at 5s restart-store 2",
			`"restart-store" needs "after D" (e.g. "at 5s restart-store 2 after 3s")`},
		{"restart negative after", "at 5s restart-store 2 after -3s",
			`"after" downtime must not be negative, got "-3s" in "at 5s restart-store 2 after -3s" (e.g. "at 5s restart-store 2 after 3s")`},
		{"slow-store without delay", "at 4s slow-store 3 for 5s",
			`"slow-store" needs a per-message delay after "at 4s slow-store 3", got "for" (e.g. "at 4s slow-store 3 200ms for 5s")`},
		{"slow-store zero delay", "at 4s slow-store 3 0s for 5s",
			`"slow-store" delay must be greater than 0, got "0s" in "at 4s slow-store 3 0s for 5s" (e.g. "at 4s slow-store 3 200ms for 5s")`},
		{"kill-stream bad code", "at 2s kill-stream 1 aborted",
			`unknown kill-stream code "aborted" in "at 2s kill-stream 1 aborted" (known: unavailable, unknown)`},
		{"write-rate missing", "at 0s write-rate",
			`"write-rate" needs a rate in rows per second (e.g. "at 0s write-rate 5000")`},
		{"write-rate negative", "at 0s write-rate -5",
			`bad write rate "-5" in "at 0s write-rate -5": want a number of rows per second from 0 to 1000000 (e.g. "at 0s write-rate 5000")`},
		{"write-rate NaN", "at 0s write-rate NaN",
			`bad write rate "NaN" in "at 0s write-rate NaN": want a number of rows per second from 0 to 1000000 (e.g. "at 0s write-rate 5000")`},
		{"write-rate inf", "at 0s write-rate 1e400",
			`bad write rate "1e400" in "at 0s write-rate 1e400": want a number of rows per second from 0 to 1000000 (e.g. "at 0s write-rate 5000")`},
		{"write-rate absurd", "at 0s write-rate 1e12",
			`bad write rate "1e12" in "at 0s write-rate 1e12": want a number of rows per second from 0 to 1000000 (e.g. "at 0s write-rate 5000")`},
		{"write-rate Inf", "at 0s write-rate +Inf",
			`bad write rate "+Inf" in "at 0s write-rate +Inf": want a number of rows per second from 0 to 1000000 (e.g. "at 0s write-rate 5000")`},
		{"control characters are quoted", "at 1s \x1b[31mmerge",
			`unknown verb "\x1b[31mmerge" (known: split, merge, transfer-leader, stop-store, drain-store, remove-store, start-store, restart-store, hang-store, busy-store, congest-region, slow-store, kill-stream, lock, silence-region, pd-down, write-rate, stop-faults)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Good lines before the bad one prove the line number is the bad line's.
			script := "# faults\nat 0s write-rate 100\n\n" + tt.line + " # why\nat 1s stop-faults\n"
			s, err := ParseScript("faults.txt", strings.NewReader(script))
			if err == nil {
				t.Fatalf("ParseScript(%q) = %+v, want an error", tt.line, s.Actions)
			}
			if s != nil {
				t.Errorf("ParseScript returned a script with the error: %+v", s)
			}
			if got, want := err.Error(), "faults.txt:4: "+tt.want; got != want {
				t.Errorf("ParseScript(%q) error\n got %s\nwant %s", tt.line, got, want)
			}
			var serr *ScriptError
			if !errors.As(err, &serr) || serr.Path != "faults.txt" || serr.Line != 4 {
				t.Errorf("error %#v is not a *ScriptError for faults.txt:4", err)
			}
		})
	}
}

func TestParseScriptWrapsDurationError(t *testing.T) {
	_, err := ParseScript("f", strings.NewReader("at 5x stop-store 2"))
	var serr *ScriptError
	if !errors.As(err, &serr) || serr.Err == nil || errors.Unwrap(err) != serr.Err {
		t.Fatalf("error %v does not wrap the time.ParseDuration error", err)
	}
}

func TestParseScriptWithoutPathNamesScript(t *testing.T) {
	_, err := ParseScript("", strings.NewReader("at 1s oops"))
	if err == nil || !strings.HasPrefix(err.Error(), "script:1: ") {
		t.Fatalf("error = %v, want it to start with script:1:", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestParseScriptReadError(t *testing.T) {
	_, err := ParseScript("faults.txt", failingReader{})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "faults.txt") {
		t.Fatalf("error = %v, want it to name faults.txt and wrap the read error", err)
	}
}

func TestLoadScript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "faults.txt")
	if err := os.WriteFile(path, []byte("at 2s split random\nat 3s merge region 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadScript(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path != path || len(s.Actions) != 2 || s.Actions[1].Line != 2 || s.Actions[1].Region != 7 {
		t.Errorf("LoadScript = %+v", s)
	}

	if err := os.WriteFile(path, []byte("at 2s split random\nat 3s merge region x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScript(path); err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
		t.Errorf("LoadScript of a bad script: error = %v, want it to start with %s:2:", err, path)
	}
}

func TestLoadScriptMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.txt")
	_, err := LoadScript(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want a not-exist error naming %s", err, path)
	}
}

func TestValidate(t *testing.T) {
	regions := func(id uint64) bool { return id >= 1 && id <= 64 }
	stores := func(id uint64) bool { return id >= 1 && id <= 3 }
	parse := func(t *testing.T, script string) *Script {
		t.Helper()
		s, err := ParseScript("faults.txt", strings.NewReader(script))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	ok := parse(t, "at 1s split region 64 into 3\nevery 1s split random\nat 2s transfer-leader region 5 to 3\n"+
		"at 3s stop-store 2\nat 3s kill-stream random\nat 4s pd-down for 1s\nat 5s write-rate 10\nat 9s stop-faults\n")
	if err := ok.Validate(regions, stores); err != nil {
		t.Errorf("Validate of a good script: %v", err)
	}

	tests := []struct{ script, want string }{
		{"at 1s merge region 1\n\nat 2s split region 999", `faults.txt:3: unknown region 999 (use "random" for regions made at run time)`},
		{"at 5s stop-store 7", "faults.txt:1: unknown store 7"},
		{"at 2s transfer-leader region 5 to 4", "faults.txt:1: unknown store 4"},
		{"at 2s congest-region 65 for 1s", `faults.txt:1: unknown region 65 (use "random" for regions made at run time)`},
	}
	for _, tt := range tests {
		err := parse(t, tt.script).Validate(regions, stores)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Validate(%q) = %v, want %s", tt.script, err, tt.want)
		}
	}

	// nil predicates skip their check; a nil script has nothing to check.
	bad := parse(t, "at 1s merge region 999\nat 2s stop-store 9")
	if err := bad.Validate(nil, nil); err != nil {
		t.Errorf("Validate(nil, nil) = %v", err)
	}
	if err := (*Script)(nil).Validate(regions, stores); err != nil {
		t.Errorf("nil Script: Validate = %v", err)
	}
}

// FuzzParseScript checks that no input panics, that errors carry the file and
// line, and that what parses is well formed and re-parses from its own Text to
// the same actions.
func FuzzParseScript(f *testing.F) {
	f.Add("at 2s split region 5 into 3\nevery 50ms transfer-leader random # churn\n")
	f.Add("at 4s slow-store 3 200ms for 5s\nat 2s kill-stream 1 unknown\nat 0s write-rate 1e3\n")
	f.Add("at 5s restart-store 2 after 3s\r\n\ufeffat 1s pd-down for 3s\nat 10s stop-faults")
	f.Fuzz(func(t *testing.T, script string) {
		s, err := ParseScript("fuzz.txt", strings.NewReader(script))
		if err != nil {
			if s != nil {
				t.Fatalf("got a script and an error %v", err)
			}
			var serr *ScriptError
			if !errors.As(err, &serr) || serr.Line < 1 || !strings.HasPrefix(err.Error(), "fuzz.txt:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		texts := make([]string, 0, len(s.Actions))
		prevLine := 0
		for _, a := range s.Actions {
			checkActionWellFormed(t, a)
			if a.Line <= prevLine {
				t.Fatalf("line numbers not increasing: %+v", s.Actions)
			}
			prevLine = a.Line
			texts = append(texts, a.Text)
		}
		again, err := ParseScript("fuzz.txt", strings.NewReader(strings.Join(texts, "\n")))
		if err != nil {
			t.Fatalf("re-parsing the parsed lines %q: %v", texts, err)
		}
		if len(again.Actions) != len(s.Actions) {
			t.Fatalf("re-parse gave %d actions, want %d", len(again.Actions), len(s.Actions))
		}
		for i := range s.Actions {
			want := s.Actions[i]
			want.Line = i + 1
			if !reflect.DeepEqual(again.Actions[i], want) {
				t.Fatalf("re-parse of %q\n got %+v\nwant %+v", want.Text, again.Actions[i], want)
			}
		}
		r := rand.New(rand.NewPCG(uint64(len(script)), 1))
		_ = s.Validate(func(uint64) bool { return r.IntN(2) == 0 }, func(uint64) bool { return r.IntN(2) == 0 })
	})
}

func checkActionWellFormed(t *testing.T, a Action) {
	t.Helper()
	switch {
	case a.Text == "" || strings.Contains(a.Text, "#") || a.Text != strings.TrimSpace(a.Text):
		t.Fatalf("bad Text %q", a.Text)
	case a.At < 0 || a.Every < 0 || a.For < 0 || a.Delay < 0:
		t.Fatalf("negative duration: %+v", a)
	case a.Every != 0 && a.At != a.Every:
		t.Fatalf("every action's first run is not its period: %+v", a)
	case a.Random && a.Region != 0:
		t.Fatalf("random with a region id: %+v", a)
	case a.Verb == VerbSplit && a.Into < 2, a.Verb != VerbSplit && a.Into != 0:
		t.Fatalf("bad Into: %+v", a)
	case a.Verb == VerbKillStream && a.Code != KillCodeUnavailable && a.Code != KillCodeUnknown:
		t.Fatalf("bad Code: %+v", a)
	case a.Rate < 0 || a.Rate != a.Rate:
		t.Fatalf("bad Rate: %+v", a)
	case a.Verb == VerbStopFaults && a.Every != 0:
		t.Fatalf("repeating stop-faults: %+v", a)
	}
	if a.Verb.example() == "" {
		t.Fatalf("unknown verb: %+v", a)
	}
}
