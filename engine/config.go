package engine

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/util/codec"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/pulltop/pulltop/snapshots"
)

// protocolVersion is the ticdc_version pulltop announces: at least 5.3.0 so
// TiKV checks the cluster id, and at least 4.0.8 for batched resolved ts.
const protocolVersion = "8.5.0"

// Span is a subscribed key range in memcomparable encoding, as PD and CDC
// requests use. An empty End means the end of the keyspace.
type Span struct {
	Start, End []byte
}

func (s Span) String() string {
	return fmt.Sprintf("[%s, %s)", FormatKey(s.Start), FormatKey(s.End))
}

// TableDataSpan is every TiDB table's data, [t, u) encoded: the default.
func TableDataSpan() Span {
	return Span{Start: codec.EncodeBytes(nil, []byte("t")), End: codec.EncodeBytes(nil, []byte("u"))}
}

// ParseSpan parses a --span spec: `t:<tableID>` for one table's row data, or
// `<hexstart>:<hexend>` for a raw memcomparable range (hexend may be empty
// for the end of the keyspace).
func ParseSpan(spec string) (Span, error) {
	if rest, ok := strings.CutPrefix(spec, "t:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 {
			return Span{}, fmt.Errorf("--span %q: want t:<tableID> with a positive table id, e.g. t:112", spec)
		}
		prefix := codec.EncodeInt([]byte{'t'}, id)
		return Span{
			Start: codec.EncodeBytes(nil, append(append([]byte{}, prefix...), '_', 'r')),
			End:   codec.EncodeBytes(nil, append(append([]byte{}, prefix...), '_', 's')),
		}, nil
	}
	startHex, endHex, ok := strings.Cut(spec, ":")
	if !ok {
		return Span{}, fmt.Errorf("--span %q: want t:<tableID> or <hexstart>:<hexend> (memcomparable keys in hex)", spec)
	}
	start, err := hex.DecodeString(startHex)
	if err != nil {
		return Span{}, fmt.Errorf("--span %q: start key is not hex: %v", spec, err)
	}
	end, err := hex.DecodeString(endHex)
	if err != nil {
		return Span{}, fmt.Errorf("--span %q: end key is not hex: %v", spec, err)
	}
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return Span{}, fmt.Errorf("--span %q: start key must sort before end key", spec)
	}
	return Span{Start: start, End: end}, nil
}

// ParseStartTs parses --start-ts: "now" (0: take PD's current TSO), a TSO
// number, or an RFC3339 time.
func ParseStartTs(spec string) (uint64, error) {
	switch {
	case spec == "" || spec == "now":
		return 0, nil
	case strings.ContainsAny(spec, "-:T"):
		t, err := time.Parse(time.RFC3339, spec)
		if err != nil {
			return 0, fmt.Errorf("--start-ts %q: want now, a TSO or an RFC3339 time (2026-11-25T20:00:00Z): %v", spec, err)
		}
		// TSO 0 is no timestamp any cluster has handed out (and "0" means
		// now inside pulltop): 1970-01-01T00:00:00Z is refused as
		// --start-ts 0 is, and so is anything before it or past what a
		// TSO's 46-bit physical part can hold.
		ms := t.UnixMilli()
		if ms <= 0 || ms >= 1<<46 {
			return 0, fmt.Errorf("--start-ts %q: a TSO can only hold times after 1970-01-01T00:00:00Z and before year 4199; give now, a TSO or a recent RFC3339 time", spec)
		}
		return oracle.GoTimeToTS(t), nil
	}
	ts, err := strconv.ParseUint(spec, 10, 64)
	if err != nil || ts == 0 {
		return 0, fmt.Errorf("--start-ts %q: want now, a TSO or an RFC3339 time (2026-11-25T20:00:00Z)", spec)
	}
	return ts, nil
}

// TLSConfig names the PEM files for TLS to PD and the stores, as pd-ctl
// takes them. All empty means plaintext; otherwise all three are needed.
type TLSConfig struct {
	CA, Cert, Key string
}

// Enabled reports whether any TLS file was given.
func (c TLSConfig) Enabled() bool { return c.CA != "" || c.Cert != "" || c.Key != "" }

// Load builds the client tls.Config, naming the file at fault on error.
//
// A CA alone is refused rather than half-honoured: the pd client turns TLS
// on only when it has a client certificate and key (tlsutil.TLSConfig.
// ToTLSConfig), so with --ca alone pulltop would probe PD over TLS and then
// talk to it in plaintext.
func (c TLSConfig) Load() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	// Files given but unusable first: that names the file the user typed.
	var pool *x509.CertPool
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("TLS: --ca %s: %w", c.CA, err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS: --ca %s: no PEM certificate in the file", c.CA)
		}
	}
	for _, f := range []struct{ flag, path string }{{"--cert", c.Cert}, {"--key", c.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("TLS: %s %s: %w", f.flag, f.path, err)
		}
	}
	var missing []string
	for _, f := range []struct{ flag, path string }{{"--ca", c.CA}, {"--cert", c.Cert}, {"--key", c.Key}} {
		if f.path == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("TLS: --ca, --cert and --key go together (as for pd-ctl); missing %s", strings.Join(missing, " and "))
	}
	pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("TLS: --cert %s / --key %s: %w", c.Cert, c.Key, err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// GroundTruth is the embedded simulated cluster's record of every committed
// row, so the engine can report rows it should have delivered and did not.
type GroundTruth interface {
	// CommittedFrom calls fn for committed rows from index from on, in
	// commit order, until fn returns false; it returns the index of the first
	// row not consumed. The engine is its only reader: rows before from
	// may be forgotten. droppedTs is the highest commit ts of rows the truth
	// dropped before they were read (to bound its memory while the engine's
	// resolved ts is stuck): they can no longer be checked.
	CommittedFrom(from int, fn func(rawKey []byte, commitTs uint64) bool) (next int, droppedTs uint64)
}

// Config is what the engine needs to run.
type Config struct {
	PD  []string
	TLS TLSConfig
	// Spans to subscribe; empty means TableDataSpan.
	Spans []Span
	// StartTs is where the subscriptions start; 0 means PD's current TSO.
	StartTs uint64
	// StaleAfter marks an initialized region stale when its resolved ts has
	// not advanced for this long (10s).
	StaleAfter time.Duration
	// SinkPath, if set, receives delivered rows as JSON lines.
	SinkPath string
	// SinkStallTimeout is how long a --sink reader (a pipe) may take
	// nothing before the engine stops with an error (10s).
	SinkStallTimeout time.Duration
	Logger           *zap.Logger

	// PublishInterval is how often a snapshot is published (500ms).
	PublishInterval time.Duration
	// ConnectTimeout bounds reaching PD at start (8s, so that an unreachable
	// PD is reported within 10s of starting, DESIGN §1).
	ConnectTimeout time.Duration
	// ScansPerStore bounds requested-but-not-initialized regions per store
	// (128), like TiCDC's admission window. Against a real cluster the
	// command line makes it small (--scans-per-store, 4): TiKV runs 6 scans
	// at once per store for every client together and refuses registrations
	// beyond 10000 pending, and pulltop must not crowd out the cluster's own
	// change-data clients.
	ScansPerStore int
	// RowsOnDemand leaves the region rows out of the snapshots the engine
	// publishes: their regions are in State.Table only (the view's
	// version, which shares with the last one whatever did not change),
	// and whoever needs rows builds them (State.Rows; a save does). At a
	// million regions rows are 270 MB a publish. Without it every publish
	// carries Regions too (tests, small embedders).
	RowsOnDemand bool
	// OldValue asks TiKV for old values (ExtraOp ReadOldValue); off, TiKV
	// skips the extra read per prewrite (--old-value).
	OldValue bool
	// BeforeSubscribe, if set, is called once PD answered and before any
	// region is subscribed, with what the subscription will touch; an error
	// stops Start (the operator declined).
	BeforeSubscribe func(Preview) error
	// AfterLocate, if set, is called once the subscriptions' first lookups
	// in PD are done, with what they touch: headless says it without
	// holding the subscription back for a count (a million regions take
	// PD seconds to page through). It runs on the event loop: it must not
	// block.
	AfterLocate func(Preview)
	// PDCheckInterval is how often the store list is refreshed from PD,
	// which is also how a PD outage is noticed when no lookup is running
	// (2s).
	PDCheckInterval time.Duration
	// DisableBackoff retries with no delay at all: no backoff and no reload
	// debounce (test-only: the retry-storm measurement's baseline).
	DisableBackoff bool

	// EmbeddedSim and GroundTruth are set when the engine runs on the
	// embedded simulated cluster.
	EmbeddedSim bool
	GroundTruth GroundTruth

	// OnRow and OnResolved, if set, are called on the event loop for every
	// delivered row and every subscription resolved-ts advance (tests use
	// them to check the invariants). They must be quick.
	OnRow      func(sub uint64, row Row)
	OnResolved func(sub uint64, ts uint64)
	// OnPublish, if set, is called on the event loop with every snapshot
	// the engine publishes (the diagnosis oracle judges each one). It must
	// be quick and must not modify the snapshot.
	OnPublish func(*snapshots.State)
	// DialOptions are added to every gRPC connection to PD's client and
	// the stores (test-only: interceptors that play a hostile server).
	DialOptions []grpc.DialOption
	// DropRowForTest, if set and returning true, loses a row on purpose:
	// it proves the ground-truth check can fail.
	DropRowForTest func(sub uint64, row Row) bool
}

func (c *Config) withDefaults() error {
	if len(c.PD) == 0 {
		return fmt.Errorf("no PD address: give --pd host:port")
	}
	if len(c.Spans) == 0 {
		c.Spans = []Span{TableDataSpan()}
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 10 * time.Second
	}
	if c.PublishInterval <= 0 {
		c.PublishInterval = 500 * time.Millisecond
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 8 * time.Second
	}
	if c.ScansPerStore <= 0 {
		c.ScansPerStore = 128
	}
	if c.PDCheckInterval <= 0 {
		c.PDCheckInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return nil
}

// FormatKey renders a memcomparable key for the operator: t123_r456 for a
// TiDB row key, t123 for a table prefix, the raw text for short printable
// keys, hex otherwise; "-inf"/"+inf" for empty bounds are the caller's.
func FormatKey(encoded []byte) string {
	if len(encoded) == 0 {
		return "∞"
	}
	_, raw, err := codec.DecodeBytes(encoded, nil)
	if err != nil {
		return hex.EncodeToString(encoded)
	}
	if len(raw) >= 9 && raw[0] == 't' {
		_, table, err := codec.DecodeInt(raw[1:9])
		if err == nil {
			rest := raw[9:]
			if len(rest) == 10 && rest[0] == '_' && rest[1] == 'r' {
				if _, handle, err := codec.DecodeInt(rest[2:]); err == nil {
					return fmt.Sprintf("t%d_r%d", table, handle)
				}
			}
			if len(rest) == 0 {
				return fmt.Sprintf("t%d", table)
			}
			if len(rest) == 2 && rest[0] == '_' {
				return fmt.Sprintf("t%d_%c", table, rest[1])
			}
		}
	}
	printable := true
	for _, b := range raw {
		if b < 0x21 || b > 0x7e {
			printable = false
			break
		}
	}
	if printable && len(raw) > 0 {
		return string(raw)
	}
	return hex.EncodeToString(raw)
}
