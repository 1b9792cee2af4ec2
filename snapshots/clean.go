package snapshots

// This file keeps text from outside off the operator's terminal as control
// sequences (DESIGN §9.7). Every string in a State may come from a server
// (error messages, store addresses and versions, PD errors) or from a file
// (a replayed snapshot), so whoever prints a State cleans it first with
// Clean: the UI where a snapshot enters it, headless before it prints, Save
// and Load. It is one place, so a field added to State is covered by adding
// it to the visitor below — TestCleanCoversEveryStringField fails until it
// is.
//
// Cleaning must cost nothing when there is nothing to clean: the UI takes a
// snapshot of up to a million regions every refresh. The check is one pass
// over the bytes with no allocation; only a State that holds something to
// clean is copied (a published State is immutable and shared).

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// MaxStringLen caps every string of a cleaned State, in bytes. It is well
// above anything real (a TiDB key is at most 3 KiB, so ~7 KiB in
// memcomparable hex), and it keeps a hostile 200 MB error message from
// making every frame measure 200 MB.
const MaxStringLen = 8 << 10

// MaxKeyLen caps a key (lowercase hex of a memcomparable key), in bytes.
// Keys are data, not display text: the operator pastes them into a span,
// and a region is named by them, so a key up to this length survives
// cleaning, saving and loading whole. It is far above any real key (TiKV
// refuses keys over 8 KiB, ~18 KiB in encoded hex); a longer one (a hostile
// PD, a forged file) is cut to its first MaxKeyLen hex digits and marked
// with KeyCutMark, which Validate accepts: what cleaning produces is always
// valid.
const MaxKeyLen = 64 << 10

// KeyCutMark ends a key cut at MaxKeyLen.
const KeyCutMark = "…"

// CleanKey returns a key safe to print and to save: the key itself when it
// is hex of at most MaxKeyLen digits (whatever its length below that: it is
// not cut at MaxStringLen), its first MaxKeyLen digits and KeyCutMark when
// it is longer hex, and CleanString of it otherwise (not hex: Validate
// names it).
func CleanKey(s string) string {
	if !keyNeedsCleaning(s) {
		return s
	}
	if len(s) > MaxKeyLen && isHex(s[:MaxKeyLen]) {
		return s[:MaxKeyLen] + KeyCutMark
	}
	return CleanString(s)
}

// keyNeedsCleaning reports whether CleanKey would change s; as cheap as
// NeedsCleaning for a short key.
func keyNeedsCleaning(s string) bool {
	switch {
	case len(s) <= MaxStringLen:
		return NeedsCleaning(s)
	case len(s) > MaxKeyLen:
		return !isCutKey(s) // a key cut already is clean
	}
	return !isHex(s)
}

// isCutKey: s is a key CleanKey cut.
func isCutKey(s string) bool {
	return len(s) == MaxKeyLen+len(KeyCutMark) && strings.HasSuffix(s, KeyCutMark) && isHex(s[:MaxKeyLen])
}

// CleanString returns s safe to print on a terminal: tabs and line breaks
// become spaces; other control characters (C0, DEL, C1 — the starts of
// escape sequences such as OSC 0 and OSC 52 — and invalid UTF-8) and
// invisible format characters (bidi overrides, zero-width) are shown
// escaped as Go would quote them (\x1b, \u009b, \u202e), so the operator
// sees that they were there; a string over MaxStringLen bytes is cut with
// "…". A string that needs none of this is returned as it is.
func CleanString(s string) string {
	if !NeedsCleaning(s) {
		return s
	}
	out := make([]byte, 0, min(len(s)+16, MaxStringLen))
	for i := 0; i < len(s); {
		// Room for the longest piece (a 6-byte escape) and the ellipsis,
		// so the result is itself clean.
		if len(out) > MaxStringLen-6-len("…") {
			return string(append(out, "…"...))
		}
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			out = append(out, ' ')
		case r == utf8.RuneError && size == 1:
			out = append(out, `\x`...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b' or '\u202e'
			out = append(out, q[1:len(q)-1]...)
		default:
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// NeedsCleaning reports whether CleanString would change s. It allocates
// nothing and, for plain ASCII, is one comparison per byte.
func NeedsCleaning(s string) bool {
	if len(s) > MaxStringLen {
		return true
	}
	i := 0
	// Eight bytes at a time: a byte below 0x20 borrows into its top bit
	// when 0x20 is taken from it, a byte above 0x7e carries into it when 1
	// is added (or has it already). Either may flag a neighbour too, which
	// only sends the scan to the exact check below.
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if ((x-lo*0x20)&^x|(x+lo)|x)&hi != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return needsCleaningSlow(s[i:])
		}
	}
	return false
}

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

func needsCleaningSlow(s string) bool {
	for _, r := range s {
		// A range over a string yields RuneError for every invalid byte.
		if r < 0x20 || r == utf8.RuneError || r == '\u2028' || r == '\u2029' || unsafeRune(r) {
			return true
		}
	}
	return false
}

// unsafeRune: control characters (C0, DEL, C1) start escape sequences;
// format characters (Cf: bidi overrides, zero-width joiners, BOM) make a
// line read differently from what it is.
func unsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r > 0x9f && unicode.Is(unicode.Cf, r))
}

// Clean returns s with every string cleaned by CleanString. It returns s
// itself, untouched, when nothing needs cleaning (the usual case, at the
// cost of one read of its strings); otherwise a copy that shares whatever
// was clean. s is never modified: a published State is read concurrently.
func Clean(s *State) *State { return CleanSince(s, nil) }

// CleanSince is Clean for a stream of snapshots: prev is the State that
// Clean or CleanSince returned for the previous snapshot of the same
// source (or nil). A string that is the very same string (same bytes in
// memory) as the one at the same place in prev was cleaned already and is
// not read again. The engine keeps its region order and reuses its strings
// between snapshots, so a refresh at a million regions reads the region
// records but not their keys and errors (BenchmarkCleanSince).
func CleanSince(s, prev *State) *State {
	if s == nil {
		return nil
	}
	if prev == nil {
		prev = &State{}
	}
	look := cleaner{}
	look.state(s, prev)
	if !look.dirty {
		return s
	}
	c := *s
	fix := cleaner{fix: true}
	fix.state(&c, prev)
	return &c
}

// CleanPass is CleanSince in parts, for a caller that makes its own pass
// over the regions and would rather read a million rows once than once per
// consumer (the UI cleans, keeps its history and records the timeline in
// one loop): BeginClean cleans everything but the regions, Region(i) hands
// out region i cleaned, State is the result, which is what CleanSince
// returns. The first region that needs cleaning copies the State and its
// Regions (a published State is shared and read concurrently); a string
// that is the very one at the same place in prev is not read again.
type CleanPass struct {
	orig, s *State
	prev    []Region
	copied  bool
	none    Region
}

// BeginClean starts a pass over s's regions.
func BeginClean(s, prev *State) *CleanPass {
	p := &CleanPass{orig: s, s: cleanOutsideRegions(s, prev)}
	if prev != nil {
		p.prev = prev.Regions
	}
	return p
}

// Region returns region i of the result, cleaned. Call it for every i in
// order, once each.
func (p *CleanPass) Region(i int) *Region {
	r, prev := &p.s.Regions[i], &p.none
	if i < len(p.prev) {
		prev = &p.prev[i]
	}
	look := cleaner{}
	look.region(r, prev)
	if look.dirty {
		if !p.copied {
			if p.s == p.orig {
				c := *p.s
				p.s = &c
			}
			p.s.Regions = slices.Clone(p.s.Regions)
			p.copied = true
			r = &p.s.Regions[i]
		}
		fix := cleaner{fix: true}
		fix.region(r, prev)
	}
	return r
}

// State is the cleaned snapshot: s itself when nothing needed cleaning.
func (p *CleanPass) State() *State { return p.s }

// cleanOutsideRegions is CleanSince for everything but s.Regions, which it
// leaves as they are (shared with s).
func cleanOutsideRegions(s, prev *State) *State {
	if s == nil {
		return nil
	}
	if prev == nil {
		prev = &State{}
	}
	look := cleaner{noRegions: true}
	look.state(s, prev)
	if !look.dirty {
		return s
	}
	c := *s
	fix := cleaner{fix: true, noRegions: true}
	fix.state(&c, prev)
	return &c
}

// cleaner visits every string of a State next to the same place in the
// previous State. In look mode it only notes whether any needs cleaning
// (and stops early); in fix mode it cleans them, copying every slice and
// map it changes, so the State it started from is never written to.
type cleaner struct {
	fix   bool
	dirty bool
	// noRegions leaves State.Regions to the caller (CleanPass).
	noRegions bool
}

func (c *cleaner) str(p, prev *string) {
	if len(*p) == len(*prev) && unsafe.StringData(*p) == unsafe.StringData(*prev) {
		return // the very string checked last time (or both empty)
	}
	c.check(p)
}

// key is str for a key: cleaned with CleanKey, not cut at MaxStringLen.
func (c *cleaner) key(p, prev *string) {
	if len(*p) == len(*prev) && unsafe.StringData(*p) == unsafe.StringData(*prev) {
		return
	}
	c.checkKey(p)
}

// checkKey is key's slow part, apart so that key inlines as str does.
func (c *cleaner) checkKey(p *string) {
	if keyNeedsCleaning(*p) {
		c.dirty = true
		if c.fix {
			*p = CleanKey(*p)
		}
	}
}

// check is str for a string not seen last time; apart so that str inlines
// (a refresh at a million regions makes six million calls of it).
func (c *cleaner) check(p *string) {
	if NeedsCleaning(*p) {
		c.dirty = true
		if c.fix {
			*p = CleanString(*p)
		}
	}
}

// state lists every string of a State. A new string field (or a new slice
// or map holding strings) must be added here.
func (c *cleaner) state(s, p *State) {
	c.str(&s.EngineError, &p.EngineError)
	visitSlice(c, &s.Source.PD, p.Source.PD, (*cleaner).str)
	c.str(&s.Source.PDError, &p.Source.PDError)
	c.str(&s.Source.ScanPriority, &p.Source.ScanPriority)
	visitMapKeys(c, &s.Totals.ErrorsByReason)
	visitMapKeys(c, &s.Totals.ErrorsLastMinute)
	visitMapKeys(c, &s.Totals.ErrorStores)
	visitMapKeys(c, &s.Extra)
	c.str(&s.Progress.Phase, &p.Progress.Phase)
	c.str(&s.Progress.Detail, &p.Progress.Detail)
	visitSlice(c, &s.Subscriptions, p.Subscriptions, func(c *cleaner, x, p *Subscription) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
	})
	visitSlice(c, &s.Stores, p.Stores, func(c *cleaner, x, p *Store) {
		c.str(&x.Addr, &p.Addr)
		c.str(&x.State, &p.State)
		c.str(&x.Condition, &p.Condition)
		c.str(&x.Diagnosis, &p.Diagnosis)
		c.str(&x.Version, &p.Version)
		c.str(&x.LastError, &p.LastError)
	})
	if !c.noRegions {
		visitSlice(c, &s.Regions, p.Regions, (*cleaner).region)
	}
	visitSlice(c, &s.Retries, p.Retries, func(c *cleaner, x, p *Retry) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
		c.str(&x.Reason, &p.Reason)
	})
	visitSlice(c, &s.Reloads, p.Reloads, func(c *cleaner, x, p *Reload) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
		c.str(&x.Reason, &p.Reason)
	})
	visitSlice(c, &s.Actions, p.Actions, func(c *cleaner, x, p *Action) {
		c.str(&x.Action, &p.Action)
		c.str(&x.Target, &p.Target)
		c.str(&x.Result, &p.Result)
	})
	visitSlice(c, &s.Events, p.Events, func(c *cleaner, x, p *Event) {
		c.str(&x.Op, &p.Op)
		c.key(&x.Key, &p.Key)
	})
	visitSlice(c, &s.Causes, p.Causes, func(c *cleaner, x, p *CauseRow) {
		c.str(&x.Cause, &p.Cause)
		c.str(&x.Example, &p.Example)
	})
	visitSlice(c, &s.RecentReloads, p.RecentReloads, func(c *cleaner, x, p *RecentReload) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
		visitSlice(c, &x.Reasons, p.Reasons, (*cleaner).str)
		visitSlice(c, &x.Absorbed, p.Absorbed, func(c *cleaner, a, p *SpanReason) {
			c.key(&a.Start, &p.Start)
			c.key(&a.End, &p.End)
			c.str(&a.Reason, &p.Reason)
		})
	})
	visitSlice(c, &s.RecentRetries, p.RecentRetries, func(c *cleaner, x, p *RecentRetry) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
		c.str(&x.Reason, &p.Reason)
		c.str(&x.Outcome, &p.Outcome)
	})
	visitSlice(c, &s.Log, p.Log, func(c *cleaner, x, p *LogEntry) {
		c.str(&x.Kind, &p.Kind)
		c.str(&x.Subject, &p.Subject)
		c.str(&x.Text, &p.Text)
	})
	if s.History != nil {
		h := s.History
		if c.fix {
			copied := *h // never write to the History s was given
			h = &copied
			s.History = h
		}
		var ph History
		if p.History != nil {
			ph = *p.History
		}
		c.history(h, &ph)
	}
}

// history visits a timeline's strings: its region keys and text tables,
// and in every frame the same parts of a State that the frame keeps.
func (c *cleaner) history(h, p *History) {
	visitSlice(c, &h.Regions, p.Regions, func(c *cleaner, x, p *HistoryRegion) {
		c.key(&x.Start, &p.Start)
		c.key(&x.End, &p.End)
	})
	visitSlice(c, &h.States, p.States, (*cleaner).str)
	visitSlice(c, &h.Causes, p.Causes, (*cleaner).str)
	visitSlice(c, &h.Strings, p.Strings, (*cleaner).str)
	visitSlice(c, &h.Frames, p.Frames, func(c *cleaner, f, p *HistoryFrame) {
		// A frame is a State's small parts: visit them as the State's.
		fs := State{Source: f.Source, Totals: f.Totals, Progress: f.Progress, Subscriptions: f.Subscriptions,
			Stores: f.Stores, Causes: f.Causes, EngineError: f.EngineError}
		ps := State{Source: p.Source, Totals: p.Totals, Progress: p.Progress, Subscriptions: p.Subscriptions,
			Stores: p.Stores, Causes: p.Causes, EngineError: p.EngineError}
		c.state(&fs, &ps)
		if c.fix {
			f.Source, f.Totals, f.Progress, f.Subscriptions = fs.Source, fs.Totals, fs.Progress, fs.Subscriptions
			f.Stores, f.Causes, f.EngineError = fs.Stores, fs.Causes, fs.EngineError
		}
	})
}

func (c *cleaner) region(r, p *Region) {
	c.key(&r.Start, &p.Start)
	c.key(&r.End, &p.End)
	c.str(&r.State, &p.State)
	c.str(&r.LastError, &p.LastError)
	c.str(&r.Cause, &p.Cause)
	c.str(&r.Diagnosis, &p.Diagnosis)
	if len(r.Lineage) > 0 {
		c.lineage(&r.Lineage, p.Lineage)
	}
}

// lineage visits a region's lineage. In look mode it does not hand c to
// visitSlice: a cleaner given to a function value escapes to the heap,
// and CleanPass.Region makes one a million times per refresh.
func (c *cleaner) lineage(xs *[]Origin, prev []Origin) {
	if !c.fix {
		var none Origin
		for i := range *xs {
			p := &none
			if i < len(prev) {
				p = &prev[i]
			}
			c.str(&(*xs)[i].Kind, &p.Kind)
		}
		return
	}
	fix := cleaner{fix: true}
	visitSlice(&fix, xs, prev, func(c *cleaner, o, p *Origin) { c.str(&o.Kind, &p.Kind) })
	c.dirty = c.dirty || fix.dirty
}

// visitSlice visits every element next to the element at the same index
// of prev (a zero element past its end). In fix mode it first looks for an
// element that needs cleaning and, if there is one, replaces *xs with a
// cleaned copy.
func visitSlice[T any](c *cleaner, xs *[]T, prev []T, visit func(c *cleaner, x, prev *T)) {
	var zero T
	at := func(i int) *T {
		if i < len(prev) {
			return &prev[i]
		}
		return &zero
	}
	if !c.fix {
		for i := range *xs {
			if visit(c, &(*xs)[i], at(i)); c.dirty {
				return
			}
		}
		return
	}
	for i := range *xs {
		var look cleaner
		if visit(&look, &(*xs)[i], at(i)); !look.dirty {
			continue
		}
		out := slices.Clone(*xs)
		for j := i; j < len(out); j++ {
			visit(c, &out[j], at(j))
		}
		*xs = out
		return
	}
}

// visitMapKeys cleans the keys of a map keyed by text from outside (error
// reasons). Two keys that clean to the same text keep one value.
func visitMapKeys[V any](c *cleaner, m *map[string]V) {
	dirty := false
	for k := range *m {
		if NeedsCleaning(k) {
			dirty = true
			break
		}
	}
	if !dirty {
		return
	}
	c.dirty = true
	if !c.fix {
		return
	}
	out := make(map[string]V, len(*m))
	for k, v := range *m {
		out[CleanString(k)] = v
	}
	*m = out
}
