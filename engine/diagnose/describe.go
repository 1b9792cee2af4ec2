package diagnose

import (
	"strconv"
	"strings"
	"time"

	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/snapshots"
)

// Describer renders the one-line diagnosis of a cause with its evidence.
// Unlike deciding, it allocates: the engine calls it only for what is not
// healthy, once per store and once per region with its own evidence.
type Describer struct {
	// KeyName renders a raw key for the operator (t101_r14680064).
	KeyName func(raw string) string
	// Loc is the zone of the clock times in the text.
	Loc *time.Location
}

func (d *Describer) clock(ns int64) string {
	loc := d.Loc
	if loc == nil {
		loc = time.Local
	}
	return time.Unix(0, ns).In(loc).Format("15:04:05")
}

// Store is the store's diagnosis ("" when healthy).
func (d *Describer) Store(s *Store, pd *PD, now int64) string {
	var b strings.Builder
	name := "store " + strconv.FormatUint(s.ID, 10)
	if s.Addr != "" {
		name += " (" + s.Addr + ")"
	}
	switch s.Cause {
	case Healthy:
		return ""
	case Incompatible:
		return name + " cannot serve pulltop: " + s.Incompatible
	case StorePaused:
		b.WriteString(name + " paused by the operator")
		if s.Since != 0 {
			b.WriteString(" since " + d.clock(s.Since))
		}
		b.WriteString("; its regions wait for resume")
	case StoreDown:
		b.WriteString(name + " down")
		if s.FailingSince != 0 {
			b.WriteString(" since " + d.clock(s.FailingSince))
		}
		b.WriteString(": " + strconv.Itoa(s.Failures) + " failed attempts, no stream")
		if s.CoolingLeft > 0 {
			b.WriteString(", next try in " + Age(int64(s.CoolingLeft)))
		}
		if s.LastFailure != "" {
			b.WriteString("; last: " + s.LastFailure)
		}
	case StoreCooling:
		b.WriteString(name + " cooling down after a stream failure")
		if s.CoolingLeft > 0 {
			b.WriteString(", next try in " + Age(int64(s.CoolingLeft)))
		} else {
			b.WriteString(", reconnecting")
		}
		if s.LastFailure != "" {
			b.WriteString(": " + s.LastFailure)
		}
	case StoreStalled:
		b.WriteString("resolved ts stalled on " + name + " since " + d.clock(s.Since) + ", " +
			strconv.Itoa(s.Stalled) + " regions")
		switch {
		case !s.Connected:
			b.WriteString("; no stream")
		case s.LastMsgAt != 0:
			b.WriteString("; stream open, last message " + Age(now-s.LastMsgAt) + " ago")
		}
	case PDUnreachable:
		b.WriteString("resolved ts stalled on " + name + ", " + strconv.Itoa(s.Stalled) + " regions: ")
		b.WriteString(pdWords(pd, now))
		b.WriteString(" (TiKV needs PD's TSO to advance resolved ts)")
	case StoreRemoved:
		if s.Unlisted {
			b.WriteString("PD no longer lists " + name + " (a tombstone is left out): removed from the cluster")
		} else {
			b.WriteString("PD lists " + name + " Tombstone: removed from the cluster")
		}
		if s.Since != 0 {
			b.WriteString(" since " + d.clock(s.Since))
		}
		b.WriteString("; its leaders and peers live elsewhere now")
		if s.LastFailure != "" {
			b.WriteString("; its stream ended: " + s.LastFailure)
		}
	case StoreDraining:
		if s.PDState == PDStoreOffline {
			b.WriteString("PD lists " + name + " Offline: being removed, its leaders and peers moving away")
		} else {
			leads := "it leads none of the subscribed regions"
			if s.Regions > 0 {
				// Left behind: no other live replica to take the lead.
				leads = "it still leads " + strconv.Itoa(s.Regions) + " with no other live replica"
			}
			b.WriteString(name + " drained: " + strconv.Itoa(s.MovedAway) + " leaders moved to other stores in " +
				Age(now-s.MovedAwaySince) + " and " + leads + " (evict-leader or a graceful shutdown)")
		}
		if s.Since != 0 {
			b.WriteString(" since " + d.clock(s.Since))
		}
		if !s.Connected && s.LastFailure != "" {
			b.WriteString("; its stream then ended: " + s.LastFailure)
		}
	case StoreFlapping:
		b.WriteString(name + " flapping: its stream failed " + strconv.Itoa(s.Flaps) + " times in " +
			Age(now-s.FlapsSince) + " (window " + Age(int64(FlapWindow)) + ")")
		switch {
		case s.Connected:
			b.WriteString("; streaming again now")
		case s.CoolingLeft > 0:
			b.WriteString("; next try in " + Age(int64(s.CoolingLeft)))
		default:
			b.WriteString("; reconnecting")
		}
		if s.LastFailure != "" {
			b.WriteString("; last: " + s.LastFailure)
		}
	case StoreSlow:
		b.WriteString(name + " slow: its resolved ts arrives " + lateWords(s.LateMs) + " late against PD's clock")
		if s.OthersLateMs >= 0 {
			b.WriteString(", the other stores' " + lateWords(s.OthersLateMs))
		}
		b.WriteString("; stream open")
		if s.Lagging > 0 {
			b.WriteString(", " + regionsWord(s.Lagging) + " lagging")
		}
	case StoreBusy:
		b.WriteString(name + " busy: " + strconv.Itoa(s.Busy.Count(now)) + " server_is_busy/congested/region_not_found in the last minute")
		if s.BusyLast != "" {
			b.WriteString("; last " + Age(now-s.BusyLastAt) + " ago: " + s.BusyLast)
		}
	default:
		b.WriteString(name + ": " + s.Cause.String())
	}
	return b.String()
}

// Region is the region's diagnosis for cause c ("" when healthy). s is its
// store (nil if unknown) with storeText its diagnosis, reused for causes
// that are the store's.
func (d *Describer) Region(c Cause, r *Region, s *Store, storeText string, pd *PD, now int64) string {
	switch c {
	case Healthy:
		return ""
	case Incompatible, StorePaused, StoreDown, StoreStalled, StoreSlow, StoreRemoved, StoreDraining, StoreFlapping:
		if s != nil && s.Cause == c {
			return storeText
		}
		if c == StoreDraining || c == StoreRemoved {
			return "its leader left store " + strconv.FormatUint(r.LeftStore, 10) + " (" + c.String() + ") " +
				Age(now-r.LastErrorAt) + " ago; " + doing(r) + "; last: " + r.LastError
		}
	case StoreCooling:
		if s != nil && s.Cause == c {
			return storeText
		}
		return doing(r) + " after its store's stream failed " + Age(now-r.LastErrorAt) + " ago: " + r.LastError
	case Lock:
		if !r.LockPins() && s != nil {
			if p := s.PinFor(r); p != nil {
				if p.RegionID == r.ID {
					return "txn " + strconv.FormatUint(p.Lock.StartTs, 10) + " committed or rolled back just now; its resolved ts moves at TiKV's next interval (stuck " +
						Age(now-r.LastAdvance) + ")"
				}
				text := "held at the resolved ts of region " + strconv.FormatUint(p.RegionID, 10) + ", which txn " +
					strconv.FormatUint(p.Lock.StartTs, 10)
				if p.Ended {
					text += " pinned until just now"
				} else {
					text += " pins"
				}
				return text + " (TiKV sends resolved ts to a batch of regions at the batch's minimum); stuck " + Age(now-r.LastAdvance)
			}
		}
		var b strings.Builder
		b.WriteString("pinned " + Age(now-r.LastAdvance) + " by txn " + strconv.FormatUint(r.Lock.StartTs, 10))
		if started := oracle.ExtractPhysical(r.Lock.StartTs) * int64(time.Millisecond); started > 0 && started <= now {
			b.WriteString(" (started " + Age(now-started) + " ago)")
		}
		key := r.Lock.Key
		if d.KeyName != nil {
			key = d.KeyName(key)
		}
		b.WriteString(" holding " + key + "; no commit or rollback seen")
		if r.Lock.InScan {
			b.WriteString(" (prewrite found by the initial scan)")
		} else {
			b.WriteString(" (prewrite seen live)")
		}
		if r.Lock.Open > 1 {
			b.WriteString("; " + strconv.Itoa(r.Lock.Open) + " prewrites open")
		}
		return b.String()
	case PDUnreachable:
		text := pdWords(pd, now)
		if r.Initialized {
			text += "; resolved ts stuck " + Age(now-r.LastAdvance) + " (TiKV needs PD's TSO to advance it)"
		} else {
			text += "; waiting for a region lookup"
		}
		if pd.Err != "" {
			text += ": " + pd.Err
		}
		return text
	case StoreBusy:
		text := "store " + strconv.FormatUint(r.StoreID, 10) + " busy"
		if r.FailReason != "" {
			text += "; " + doing(r) + "; last error " + Age(now-r.LastErrorAt) + " ago: " + r.LastError
		} else if storeText != "" {
			text = storeText
		}
		return text
	case Lagging:
		return d.lagging(r, s, now)
	case RegionChurn:
		n := r.Churn.Count(now)
		text := strconv.Itoa(n) + " not_leader/epoch_not_match/region_not_found in the last minute"
		if n == 0 {
			text = "region moved"
		}
		if r.LastError != "" {
			text += "; last " + Age(now-r.LastErrorAt) + " ago: " + r.LastError
		}
		return text + "; " + doing(r)
	case ScanPending:
		return d.scanPending(r, s, now)
	case Silent:
		return "resolved ts stuck " + Age(now-r.LastAdvance) +
			" with no error, no open transaction and its store advancing (the silent stuck region of TiCDC #5096)"
	}
	if storeText != "" {
		return storeText
	}
	return c.String()
}

// scanPending is the diagnosis of a region waiting for its initial scan.
// It names nothing that moves from one publish to the next (no place in
// the queue, no running age): at start-up every region reads it, so a
// moving number would make every row change, and every text differ, at
// every publish. How long the queue is and how many scans run are the
// store's (its regions by state).
func (d *Describer) scanPending(r *Region, s *Store, now int64) string {
	var text string
	switch r.State {
	case snapshots.StateRequested:
		text = "initial scan running on store " + strconv.FormatUint(r.StoreID, 10)
		if r.RequestedAt != 0 {
			text += " since " + d.clock(r.RequestedAt)
		}
	case snapshots.StateLocating:
		text = "locating in PD"
	case snapshots.StateReloadWait:
		text = "waiting to reload from PD"
	case snapshots.StateQueued:
		switch {
		case r.AdmissionPos > 0 && s != nil:
			if s.scanSlotText == "" {
				s.scanSlotText = scanSlotText(r.StoreID)
			}
			text = s.scanSlotText
		case r.AdmissionPos > 0:
			text = scanSlotText(r.StoreID)
		default:
			text = "waiting for the range lock (an older region still holds part of its range)"
		}
	default:
		text = "waiting (" + r.State + ")"
	}
	if r.FailReason != "" {
		text += "; last error " + Age(now-r.LastErrorAt) + " ago: " + r.LastError
	}
	return text
}

func scanSlotText(storeID uint64) string {
	return "waiting for a scan slot on store " + strconv.FormatUint(storeID, 10)
}

// doing says what a region that is not streaming is doing now, in the
// words of its state: a retry it waits for names its attempt, a request
// already sent does not.
func doing(r *Region) string {
	switch r.State {
	case snapshots.StateRetryWait:
		if r.Attempts > 0 {
			return "waiting to retry (attempt " + strconv.Itoa(r.Attempts) + ")"
		}
		return "waiting to retry"
	case snapshots.StateReloadWait:
		return "waiting to reload from PD"
	case snapshots.StateLocating:
		return "locating in PD"
	case snapshots.StateRequested:
		return "requested again, waiting for its initial scan"
	case snapshots.StateQueued:
		return "queued to be requested again"
	case snapshots.StateParked:
		return "parked until its store can be tried"
	case snapshots.StateInitialized, snapshots.StateStale:
		return "streaming"
	}
	return "waiting (" + r.State + ")"
}

// lagging is the diagnosis of a region past the lagging threshold with
// nothing else known: what is known, so the operator sees what was ruled
// out.
func (d *Describer) lagging(r *Region, s *Store, now int64) string {
	var b strings.Builder
	if now-r.LastAdvance >= int64(time.Second) {
		b.WriteString("resolved ts not advancing for " + Age(now-r.LastAdvance))
	} else {
		b.WriteString("resolved ts " + Age(r.LagMs*int64(time.Millisecond)) + " behind PD's clock, advancing")
	}
	store := "store " + strconv.FormatUint(r.StoreID, 10)
	switch {
	case s == nil:
		b.WriteString("; " + store + " unknown")
	case s.Connected && s.LastMsgAt != 0:
		b.WriteString("; " + store + " streaming, last message " + Age(now-s.LastMsgAt) + " ago")
	case s.Connected:
		b.WriteString("; " + store + " streaming")
	default:
		b.WriteString("; " + store + " has no stream")
	}
	if r.LastError != "" && r.LastErrorAt > r.LastAdvance {
		b.WriteString("; last error " + Age(now-r.LastErrorAt) + " ago: " + r.LastError)
	} else {
		b.WriteString("; no error")
	}
	if r.Lock.StartTs != 0 && !r.LockPins() {
		b.WriteString("; an open prewrite below its resolved ts (not holding it)")
	} else if r.Lock.StartTs == 0 {
		b.WriteString("; no open transaction")
	}
	if s != nil {
		if others := s.Lagging - 1; others > 0 {
			word := " other regions of "
			if others == 1 {
				word = " other region of "
			}
			b.WriteString("; " + strconv.Itoa(others) + word + store + " lagging")
		}
	}
	return b.String()
}

func regionsWord(n int) string {
	if n == 1 {
		return "1 region"
	}
	return strconv.Itoa(n) + " regions"
}

// pdWords says PD's health for pd_unreachable: for how long it has not
// answered, or that it answers again and since when.
func pdWords(pd *PD, now int64) string {
	if !pd.Down() && pd.BackAt != 0 {
		text := "PD answering again " + Age(now-pd.BackAt) + " ago"
		if pd.DownFor > 0 {
			text += " after " + Age(int64(pd.DownFor)) + " unreachable"
		}
		return text + "; resolved ts resumes at TiKV's next interval"
	}
	text := "PD unreachable"
	if pd.Since != 0 {
		text += " for " + Age(now-pd.Since)
	}
	return text
}

// Age renders a duration in ns for a diagnosis: 850ms, 25s, 2m13s, 1h4m.
func Age(ns int64) string {
	d := time.Duration(max(ns, 0))
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d < time.Hour:
		m, s := int64(d/time.Minute), int64(d%time.Minute/time.Second)
		if s == 0 {
			return strconv.FormatInt(m, 10) + "m"
		}
		return strconv.FormatInt(m, 10) + "m" + strconv.FormatInt(s, 10) + "s"
	}
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	return strconv.FormatInt(h, 10) + "h" + strconv.FormatInt(m, 10) + "m"
}

// lateWords renders a lateness in ms with a tenth of a second: 1.5s,
// 120ms.
func lateWords(ms int64) string {
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
}
