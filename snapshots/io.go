package snapshots

// This file is the on-disk form of a State: what headless mode and ctrl+s
// write and what replay reads. A snapshot file is often the only evidence left
// of an incident, so loading one must explain exactly what is wrong with it
// (file, line, field) and never panic, and saving one must never leave a
// half-written file behind.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// VersionError reports a snapshot whose "version" this build cannot read.
// Callers can tell it apart from a corrupt file with errors.As: the file is
// fine, the pulltop is the wrong one.
type VersionError struct {
	Name    string // the file, as given to Load or Unmarshal
	Version int    // the version found; meaningless when Missing
	Missing bool   // the file has no "version" at all
}

func (e *VersionError) Error() string {
	switch {
	case e.Missing:
		return fmt.Sprintf(`%s: not a pulltop snapshot: no "version" field (this pulltop reads versions %d to %d)`, e.Name, MinVersion, Version)
	case e.Version > Version:
		return fmt.Sprintf("%s: snapshot version %d is not supported by this pulltop (reads versions %d to %d); upgrade pulltop", e.Name, e.Version, MinVersion, Version)
	default:
		return fmt.Sprintf("%s: invalid snapshot version %d (this pulltop reads versions %d to %d)", e.Name, e.Version, MinVersion, Version)
	}
}

// Marshal encodes s as JSON ending in a newline: objects indented, and every
// array of the State and of its history one element per line (stream.go).
// Field order follows the struct declarations and map keys are sorted, so
// the same State always gives the same bytes and two snapshots diff cleanly.
//
// The file always carries Version: a State loaded from an older file is
// written in the current format (version 2 only added fields). s itself is
// not modified: a published State may be read concurrently. An invalid State (see Validate) is refused,
// so that every file pulltop writes is one it can load again.
//
// Marshal holds the whole document in memory; Save and Encode stream it.
func Marshal(s *State) ([]byte, error) {
	c, err := prepare(s)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, c); err != nil {
		return nil, fmt.Errorf("encoding snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// Encode writes s to w as Marshal encodes it, one region at a time, so the
// memory it takes does not grow with the snapshot.
func Encode(w io.Writer, s *State) error {
	c, err := prepare(s)
	if err != nil {
		return err
	}
	return writeSnapshot(w, c, false)
}

// prepare is Marshal's checks: a cleaned copy of s, in the current
// version, valid.
func prepare(s *State) (*State, error) {
	if s == nil {
		return nil, errors.New("snapshot: nil State")
	}
	s = s.WithRows() // a live publish's regions are in its table
	// Every file pulltop writes is safe to cat to a terminal: JSON escapes
	// C0 controls but writes C1 controls and bidi overrides as they are.
	c := *Clean(s)
	if c.Version > Version {
		return nil, fmt.Errorf("snapshot has version %d, but this pulltop writes version %d", c.Version, Version)
	}
	c.Version = Version
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid snapshot: %w", err)
	}
	return &c, nil
}

// gzipLevel is what Save uses for a .gz file. BestSpeed: at 1M regions it
// writes ~3x faster than the default level for a file ~1.3x larger (see
// BenchmarkSaveLoad in the README), and a snapshot is written at exit,
// where the operator waits for it.
var gzipLevel = gzip.BestSpeed

// IsGzipName reports whether a snapshot saved under name is gzip: its name
// ends in ".gz" (in any case).
func IsGzipName(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".gz")
}

// writeSnapshot streams the prepared State c to w, through gzip when gz.
func writeSnapshot(w io.Writer, c *State, gz bool) error {
	if !gz {
		bw := bufio.NewWriterSize(w, 256<<10)
		if err := encode(bw, c); err != nil {
			return err
		}
		return bw.Flush()
	}
	// flate writes in pieces of a few hundred bytes: buffer them.
	zbuf := bufio.NewWriterSize(w, 256<<10)
	zw, _ := gzip.NewWriterLevel(zbuf, gzipLevel) // the level is a valid constant
	// The encoder runs here, gzip and the writes behind it in their own
	// goroutine (async.go).
	wb := newWriteBehind(zw)
	err := encode(wb, c)
	if ferr := wb.finish(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return zbuf.Flush()
}

// Save writes s to path as Marshal encodes it, streamed (the document is
// never whole in memory), gzip-compressed when the path (or the file a
// symbolic link names) ends in ".gz". A missing directory is an error,
// never created. A regular file is written to a temporary file in the same
// directory and renamed into place, so a crash or a full disk never leaves a
// truncated snapshot under the final name, and a reader never sees a
// half-written one.
//
// A symbolic link is followed: the snapshot replaces the link's target and
// the link stays. A path that is not a regular file (a terminal such as
// /dev/stdout, a named pipe) is written into, never replaced; a named pipe
// with no reader is an error, not a hang. A directory is refused.
//
// New directories get mode 0700, as the XDG spec asks, and the file gets
// 0600 (also when it replaces an older one): a snapshot names the cluster's
// addresses and key ranges, so it stays private until the operator shares it.
func Save(path string, s *State) error {
	_, err := SaveCounted(path, s)
	return err
}

// SaveCounted is Save, and says how many bytes it wrote: the size of the
// file, or what went into a terminal or pipe (stat of /dev/stdout says
// nothing of that).
func SaveCounted(path string, s *State) (int64, error) {
	c, err := prepare(s)
	if err != nil {
		return 0, fmt.Errorf("saving snapshot %s: %w", path, err)
	}
	n, err := save(path, c)
	if err != nil {
		return n, fmt.Errorf("saving snapshot %s: %w", path, err)
	}
	return n, nil
}

func save(path string, c *State) (int64, error) {
	target, fi, err := resolveSavePath(path)
	if err != nil {
		return 0, err
	}
	gz := IsGzipName(path) || IsGzipName(target)
	var written int64
	write := func(w io.Writer) error { return writeSnapshot(&countingWriter{w, &written}, c, gz) }
	if fi != nil && (!fi.Mode().IsRegular() || namesDescriptor(path)) {
		// /dev/stdout redirected to a file is written into, after what
		// is there, never replaced: the status lines before it stay.
		return written, writeInto(target, write)
	}
	dir := filepath.Dir(target)
	if err := checkDir(dir); err != nil {
		return 0, err
	}
	removeStaleTemps(dir, "."+filepath.Base(target)+".tmp-")
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return 0, err
	}
	if err := writeAndClose(tmp, write); err != nil {
		os.Remove(tmp.Name()) // best effort; the error that matters is err
		return 0, err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		os.Remove(tmp.Name())
		return 0, err
	}
	syncDir(dir)
	return written, nil
}

type countingWriter struct {
	w io.Writer
	n *int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// namesDescriptor: path names an open file descriptor (/dev/stdout,
// /dev/fd/3, /proc/self/fd/1), whatever file it resolves to.
func namesDescriptor(path string) bool {
	clean := filepath.Clean(path)
	return clean == "/dev/stdout" || clean == "/dev/stderr" || strings.HasPrefix(clean, "/dev/fd/") ||
		strings.HasPrefix(clean, "/proc/self/fd/") || strings.HasPrefix(clean, "/proc/thread-self/fd/")
}

// checkDir: the directory a snapshot goes in exists. It is not created: a
// typo in --snapshot must not make a directory tree (issue 25 item 8);
// ctrl+s's own state directory is made by SaveNew.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("directory %s does not exist; create it or name a file in an existing directory", dir)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// staleTempAge is how old a temp file of ours must be to be taken for one
// left by a killed save: a save at a million regions takes seconds.
const staleTempAge = 15 * time.Minute

// removeStaleTemps removes what a killed save left in dir: files named
// prefix followed by os.CreateTemp's digits, older than staleTempAge. A
// save in progress elsewhere is younger; other files do not match.
func removeStaleTemps(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, prefix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// CheckSavePath reports, before a run, whether Save(path) could write there:
// the path is not a directory, its directory exists and takes new files, and a pipe or device named is writable. It creates
// nothing that stays.
func CheckSavePath(path string) error {
	target, fi, err := resolveSavePath(path)
	if err != nil {
		return err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		// A terminal or a pipe: only opening it tells; a pipe's reader may
		// come later, so only permission is checked.
		return syscall.Access(target, 2 /* W_OK */)
	}
	dir := filepath.Dir(target)
	if err := checkDir(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".check-*")
	if err != nil {
		return err
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// resolveSavePath follows symbolic links from path to the file a snapshot
// should go to, even when the last link dangles (the target is then
// created). fi is the target's info, nil when it does not exist yet.
func resolveSavePath(path string) (target string, fi fs.FileInfo, err error) {
	target = path
	for hops := 0; ; hops++ {
		fi, err = os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return target, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			break
		}
		if hops == 40 {
			return "", nil, fmt.Errorf("too many levels of symbolic links")
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
	if fi.IsDir() {
		return "", nil, fmt.Errorf("%s is a directory; name a file (in it)", target)
	}
	return target, fi, nil
}

// writeInto writes into a file that is not a regular one (a terminal, a
// named pipe) without replacing it. Opening non-blocking makes a pipe with
// no reader fail at once (ENXIO) instead of hanging the exit.
func writeInto(target string, write func(io.Writer) error) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return fmt.Errorf("%s is a named pipe or socket with no reader", target)
	}
	if err != nil {
		return err
	}
	if err := write(deadlineWriter{f}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// deadlineWriter gives a slow reader a minute for every piece, not
// forever (and not a minute for a whole snapshot of a million regions).
type deadlineWriter struct{ f *os.File }

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.f.SetWriteDeadline(time.Now().Add(time.Minute)) // a terminal has no deadlines
	return d.f.Write(p)
}

// GzipAbove is the size, in regions, above which SaveNew writes gzip: a
// snapshot of 10k regions is ~5 MB of JSON, one of 1M ~450 MB (~60 MB
// gzipped). Smaller ones stay plain JSON, to be read with less or jq.
const GzipAbove = 10_000

// SaveNew writes s to a new file in dir named for the time t
// (NewFileName), never overwriting a file: when the name is taken (two
// saves in one second), it tries name_2, name_3, ... It returns the path
// written. A snapshot of more than GzipAbove regions is written gzipped, as
// name.json.gz.
func SaveNew(dir string, t time.Time, s *State) (string, error) {
	c, err := prepare(s)
	if err != nil {
		return "", fmt.Errorf("saving snapshot in %s: %w", dir, err)
	}
	gz := len(c.Regions) > GzipAbove
	ext := ".json"
	if gz {
		ext = ".json.gz"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("saving snapshot in %s: %w", dir, err)
	}
	removeStaleTemps(dir, ".pulltop-new.tmp-")
	tmp, err := os.CreateTemp(dir, ".pulltop-new.tmp-*")
	if err != nil {
		return "", fmt.Errorf("saving snapshot in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeAndClose(tmp, func(w io.Writer) error { return writeSnapshot(w, c, gz) }); err != nil {
		return "", fmt.Errorf("saving snapshot in %s: %w", dir, err)
	}
	base := strings.TrimSuffix(NewFileName(t), ".json")
	for n := 1; n <= 1000; n++ {
		name := base + ext
		if n > 1 {
			name = base + "_" + strconv.Itoa(n) + ext
		}
		path := filepath.Join(dir, name)
		// A hard link, unlike a rename, fails when the name is taken, and
		// the file appears complete under its name at once.
		err := os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("saving snapshot %s: %w", path, err)
		}
		syncDir(dir)
		return path, nil
	}
	return "", fmt.Errorf("saving snapshot in %s: %s_2%s to _1000%s are all taken", dir, base, ext, ext)
}

func writeAndClose(f *os.File, write func(io.Writer) error) error {
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename or link durable. Not every platform can sync a
// directory, and the file is complete either way, so errors are ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// MaxFileSize bounds what Load reads, after decompression: a snapshot of
// two million regions is about 1 GB; beyond 4 GiB it is not a snapshot
// pulltop wrote (or it is a gzip bomb).
const MaxFileSize = 4 << 30

// Load reads the snapshot at path, plain JSON or gzip (told by its first
// bytes, whatever its name). See Unmarshal for what is checked.
//
// It decodes as it reads, one region at a time, so the memory it takes is
// the State's. It reads at most MaxFileSize bytes of JSON, also out of a
// small gzip file, and looks at the first bytes before reading on, so
// `replay /dev/zero` or a binary file is refused at once instead of filling
// memory.
func Load(path string) (*State, error) { return load(path, MaxFileSize) }

func load(path string, limit int64) (*State, error) {
	src, err := openSnapshot(path, limit)
	if err != nil {
		return nil, err
	}
	st, err := decodeStream(src, path)
	src.Close()
	var nd *errNeedsDiagnosis
	if errors.As(err, &nd) {
		return nil, diagnoseFile(path, limit, nd.err)
	}
	return st, err
}

// diagnoseFile explains why a file that failed to decode as it streamed is
// not a snapshot, at a line and column: it reads the file again, whole (only
// a file that is wrong pays this), and decodes it the slow way. A pipe can
// not be read twice; its error has no position.
func diagnoseFile(path string, limit int64, streamErr error) error {
	generic := func() error {
		if errors.Is(streamErr, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: snapshot is truncated: %w", path, streamErr)
		}
		return fmt.Errorf("%s: malformed snapshot: %w", path, streamErr)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return generic()
	}
	// Placing the fault holds the whole file: not for a huge one.
	src, err := openSnapshot(path, min(limit, diagnoseLimit))
	if err != nil {
		return err
	}
	defer src.Close()
	data, err := io.ReadAll(src)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			if re.err == nil && limit > diagnoseLimit {
				return generic() // the cap, not the file, stopped it
			}
			return re
		}
		return fmt.Errorf("loading snapshot: %s: %w", path, err)
	}
	if _, err := diagnose(data, path); err != nil {
		return err
	}
	return generic() // the file changed under us
}

// diagnoseLimit bounds what diagnoseFile reads whole to place a fault.
const diagnoseLimit = 256 << 20

// readError is a failure to read a snapshot's bytes (the file, its gzip
// layer, the size cap), as opposed to a fault in what they say. Its message
// is complete: it names the file.
type readError struct {
	msg string
	err error
}

func (e *readError) Error() string { return e.msg }
func (e *readError) Unwrap() error { return e.err }

// snapshotReader is an open snapshot file: its JSON, decompressed when it is
// gzip, capped at the limit.
type snapshotReader struct {
	*bufio.Reader
	f  *os.File
	ra *readAhead // the gzip goroutine; nil for plain JSON
}

func (r *snapshotReader) Close() error {
	if r.ra != nil {
		r.ra.close(r.f)
		return nil
	}
	return r.f.Close()
}

// openSnapshot opens path and stacks what reads its JSON: the file, gzip
// when the file starts with gzip's magic bytes (1f 8b), the size cap. It
// refuses at once a file whose first byte is not that of a JSON object.
func openSnapshot(path string, limit int64) (*snapshotReader, error) {
	// Non-blocking: a named pipe with no writer must not hang the open (a
	// pipe is read through the poller; with no writer it reads as empty).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// The *PathError names the file; errors.Is(err, fs.ErrNotExist) works.
		return nil, fmt.Errorf("loading snapshot: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a snapshot file", path)
	}
	fr := bufio.NewReaderSize(fileReader{f, path}, 256<<10)
	sr := &snapshotReader{f: f}
	var r io.Reader = fr
	gz := false
	if magic, _ := fr.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(fr)
		if err != nil {
			f.Close()
			return nil, gzipError(path, 0, err)
		}
		// Decompression runs in its own goroutine, ahead of the decoder.
		sr.ra = newReadAhead(&gzipReader{zr: zr, path: path})
		r, gz = sr.ra, true
	}
	sr.Reader = bufio.NewReaderSize(&capReader{r: r, left: limit, path: path, gz: gz, limit: limit}, 256<<10)
	head, err := sr.Peek(512)
	if err != nil && err != io.EOF {
		sr.Close()
		var re *readError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, fmt.Errorf("loading snapshot: %s: %w", path, err)
	}
	if trimmed := bytes.TrimLeft(head, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		sr.Close()
		if gz {
			return nil, fmt.Errorf("%s: not a pulltop snapshot: it is gzip, but what it holds starts with byte 0x%02x, not a JSON object", path, trimmed[0])
		}
		return nil, fmt.Errorf("%s: not a pulltop snapshot: it starts with byte 0x%02x, not a JSON object", path, trimmed[0])
	}
	return sr, nil
}

// fileReader names the file in a read error (EIO, EISDIR on a mount...).
type fileReader struct {
	f    *os.File
	path string
}

func (r fileReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{fmt.Sprintf("loading snapshot: %s: %v", r.path, err), err}
	}
	return n, err
}

// gzipReader names a fault of the gzip layer as one: the JSON decoder
// would otherwise report a cut gzip stream as truncated JSON at some
// arbitrary spot.
type gzipReader struct {
	zr   *gzip.Reader
	path string
	n    int64 // bytes of JSON given out
}

func (r *gzipReader) Read(p []byte) (int, error) {
	n, err := r.zr.Read(p)
	r.n += int64(n)
	if err != nil && err != io.EOF {
		err = gzipError(r.path, r.n, err)
	}
	return n, err
}

func gzipError(path string, at int64, err error) error {
	var re *readError
	if errors.As(err, &re) {
		return err // the file's own error
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &readError{fmt.Sprintf("%s: gzip file is truncated: it ends after %d bytes of JSON, before the end of its compressed data (an interrupted copy or a full disk?)", path, at), err}
	}
	return &readError{fmt.Sprintf("%s: corrupt gzip file (after %d bytes of JSON): %v", path, at, err), err}
}

// capReader fails once more than limit bytes come through: a gzip bomb of a
// few MB must not expand into memory.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
	path  string
	gz    bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := io.ReadFull(c.r, one[:])
		if n == 0 {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		if c.gz {
			return 0, &readError{fmt.Sprintf("%s: decompresses to more than %s: not a snapshot pulltop wrote (a gzip bomb?)", c.path, sizeString(c.limit)), nil}
		}
		return 0, &readError{fmt.Sprintf("%s: larger than %s: not a snapshot pulltop wrote", c.path, sizeString(c.limit)), nil}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// sizeString is n bytes in the largest binary unit that divides it.
func sizeString(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Unmarshal decodes a snapshot. name (usually the file's path) starts every
// error message.
//
// The version is checked before anything after it is decoded, because a file of
// another version may decode "successfully" into nonsense. Fields this build
// does not know are ignored: within a version new fields may only be added,
// never changed in meaning (a change of meaning bumps Version), so an older
// pulltop can still replay everything it understands in a newer file. After
// decoding, the State is checked with Validate, so the UI can trust what it
// renders. A fault in the JSON is placed at a line and column.
func Unmarshal(data []byte, name string) (*State, error) {
	if name == "" {
		name = "snapshot"
	}
	s, err := decodeStream(bytes.NewReader(data), name)
	var nd *errNeedsDiagnosis
	if errors.As(err, &nd) {
		if _, err := diagnose(data, name); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: malformed snapshot: %w", name, nd.err)
	}
	return s, err
}

// diagnose decodes data the slow way, whole, to describe what is wrong
// with it: the probe for the version reads the whole document, so it finds
// every syntax error, with its offset.
func diagnose(data []byte, name string) (*State, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a pulltop snapshot", name)
	}

	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return nil, fmt.Errorf("%s: not a pulltop snapshot: want a JSON object, found %s", name, typeErr.Value)
			}
			return nil, fmt.Errorf(`%s: not a pulltop snapshot: "version" is %s, want an integer (this pulltop reads versions %d to %d)`, name, typeErr.Value, MinVersion, Version)
		}
		return nil, decodeError(name, data, err)
	}
	if probe.Version == nil {
		return nil, &VersionError{Name: name, Missing: true}
	}
	if *probe.Version < MinVersion || *probe.Version > Version {
		return nil, &VersionError{Name: name, Version: *probe.Version}
	}

	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, decodeError(name, data, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: bad snapshot: %w", name, err)
	}
	return Clean(&s), nil
}

// decodeError places a JSON error in the file, as line, column and byte
// offset, so that an operator can open the file at the spot.
func decodeError(name string, data []byte, err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		if syntaxErr.Offset >= int64(len(data)) && strings.HasPrefix(syntaxErr.Error(), "unexpected end") {
			return fmt.Errorf("%s: snapshot is truncated: the JSON stops at %s: %w", name, position(data, int64(len(data))), err)
		}
		// Offset counts the bytes read, so the bad byte is the one before it.
		return fmt.Errorf("%s: malformed snapshot at %s: %w", name, position(data, syntaxErr.Offset-1), err)
	case errors.As(err, &typeErr):
		// Offset is just past the value of the wrong type.
		return fmt.Errorf("%s: bad snapshot at %s: %w", name, position(data, typeErr.Offset-1), err)
	}
	// A field's own decoder failed (e.g. a time that is not RFC 3339); the
	// json package gives no offset for those, but the message names the value.
	return fmt.Errorf("%s: bad snapshot: %w", name, err)
}

// position describes byte offset off of data as "line L, column C (byte
// offset off)": lines and columns count from 1 as editors do, columns in
// bytes, and the offset from 0 as cmp and hexdump do.
func position(data []byte, off int64) string {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d (byte offset %d)", line, col, off)
}

// RegionStates lists every Region.State value, in the order a region usually
// moves through them.
func RegionStates() []string {
	return []string{StateQueued, StateLocating, StateParked, StateRequested,
		StateInitialized, StateRetryWait, StateReloadWait, StateStale}
}

// StoreStates lists every Store.State value.
func StoreStates() []string {
	return []string{StoreUp, StoreCooldown, StorePaused, StoreDown}
}

// Validate checks what the UI relies on without re-checking: states are known
// values, counts are not negative, rates are finite, and keys are hex. It
// does not check relations between fields (a region's subscription need not
// be listed, say), because a snapshot taken mid-change may legitimately
// disagree with itself for a moment.
func (s *State) Validate() error {
	if s == nil {
		return errors.New("nil State")
	}
	t := &s.Totals
	for _, c := range []struct {
		what string
		n    int64
	}{
		{"totals.regions", int64(t.Regions)},
		{"totals.initialized", int64(t.Initialized)},
		{"totals.stale", int64(t.Stale)},
	} {
		if c.n < 0 {
			return fmt.Errorf("%s is negative (%d)", c.what, c.n)
		}
	}
	if math.IsNaN(t.EventsPerSec) || math.IsInf(t.EventsPerSec, 0) || t.EventsPerSec < 0 {
		return fmt.Errorf("totals.events_per_sec is %v, want a non-negative number", t.EventsPerSec)
	}
	for reason, n := range t.ErrorsByReason {
		if n < 0 {
			return fmt.Errorf("totals.errors_by_reason[%q] is negative (%d)", reason, n)
		}
	}

	for i, sub := range s.Subscriptions {
		if err := checkSpan(sub.Start, sub.End); err != nil {
			return fmt.Errorf("subscriptions[%d] (subscription %d): %w", i, sub.ID, err)
		}
	}
	for i, st := range s.Stores {
		if err := checkStore(st); err != nil {
			return fmt.Errorf("stores[%d] (store %d): %w", i, st.ID, err)
		}
	}
	for i, r := range s.Regions {
		if err := checkRegion(r); err != nil {
			return fmt.Errorf("regions[%d] (region %d): %w", i, r.ID, err)
		}
	}
	for i, r := range s.Retries {
		err := checkSpan(r.Start, r.End)
		if err == nil && r.Attempt < 0 {
			err = fmt.Errorf("attempt is negative (%d)", r.Attempt)
		}
		if err == nil && r.DueInMs < 0 {
			err = fmt.Errorf("due_in_ms is negative (%d)", r.DueInMs)
		}
		if err != nil {
			return fmt.Errorf("retries[%d] (region %d): %w", i, r.RegionID, err)
		}
	}
	for i, r := range s.Reloads {
		err := checkSpan(r.Start, r.End)
		if err == nil && r.MergedFrom < 0 {
			err = fmt.Errorf("merged_from is negative (%d)", r.MergedFrom)
		}
		if err == nil && r.QueuedMsAgo < 0 {
			err = fmt.Errorf("queued_ms_ago is negative (%d)", r.QueuedMsAgo)
		}
		if err != nil {
			return fmt.Errorf("reloads[%d] (subscription %d): %w", i, r.Subscription, err)
		}
	}
	for i, c := range s.Causes {
		if !slices.Contains(Causes(), c.Cause) {
			return fmt.Errorf("causes[%d]: unknown cause %q (known: %s)", i, c.Cause, strings.Join(Causes(), ", "))
		}
		if c.Regions < 0 {
			return fmt.Errorf("causes[%d] (%s): regions is negative (%d)", i, c.Cause, c.Regions)
		}
	}
	for i, r := range s.RecentReloads {
		err := checkSpan(r.Start, r.End)
		if err == nil && r.MergedFrom < 0 {
			err = fmt.Errorf("merged_from is negative (%d)", r.MergedFrom)
		}
		if err == nil && r.Regions < -1 {
			err = fmt.Errorf("regions is %d, want -1 (unknown) or more", r.Regions)
		}
		for j := 0; err == nil && j < len(r.Absorbed); j++ {
			if err = checkSpan(r.Absorbed[j].Start, r.Absorbed[j].End); err != nil {
				err = fmt.Errorf("absorbed[%d]: %w", j, err)
			}
		}
		if err != nil {
			return fmt.Errorf("recent_reloads[%d] (subscription %d): %w", i, r.Subscription, err)
		}
	}
	for i, r := range s.RecentRetries {
		err := checkSpan(r.Start, r.End)
		if err == nil && r.Attempt < 0 {
			err = fmt.Errorf("attempt is negative (%d)", r.Attempt)
		}
		if err != nil {
			return fmt.Errorf("recent_retries[%d] (region %d): %w", i, r.RegionID, err)
		}
	}
	for i, e := range s.Events {
		var err error
		if !isKey(e.Key) {
			err = fmt.Errorf("key %s is not hex", quoteKey(e.Key))
		} else if e.ValueLen < 0 {
			err = fmt.Errorf("value_len is negative (%d)", e.ValueLen)
		}
		if err != nil {
			return fmt.Errorf("events[%d] (region %d): %w", i, e.RegionID, err)
		}
	}
	if s.History != nil {
		// Decoding it all once is what makes scrubbing it safe later.
		if _, err := NewRecorderFrom(s.History); err != nil {
			return err
		}
		for i, r := range s.History.Regions {
			if err := checkSpan(r.Start, r.End); err != nil {
				return fmt.Errorf("history: regions[%d] (region %d): %w", i, r.ID, err)
			}
		}
	}
	return nil
}

func checkStore(st Store) error {
	if !slices.Contains(StoreStates(), st.State) {
		return fmt.Errorf("unknown state %q (known: %s)", st.State, strings.Join(StoreStates(), ", "))
	}
	if st.Condition != "" && !slices.Contains(Causes(), st.Condition) {
		return fmt.Errorf("unknown condition %q (known: %s)", st.Condition, strings.Join(Causes(), ", "))
	}
	for _, c := range []struct {
		what string
		n    int64
	}{
		{"cooldown_ms_left", st.CooldownMsLeft},
		{"failures", int64(st.Failures)},
		{"streams", int64(st.Streams)},
		{"regions", int64(st.Regions)},
		{"max_lag_ms", st.MaxLagMs},
		{"waiting", int64(st.Waiting)},
	} {
		if c.n < 0 {
			return fmt.Errorf("%s is negative (%d)", c.what, c.n)
		}
	}
	return nil
}

func checkRegion(r Region) error {
	if !slices.Contains(RegionStates(), r.State) {
		return fmt.Errorf("unknown state %q (known: %s)", r.State, strings.Join(RegionStates(), ", "))
	}
	if err := checkSpan(r.Start, r.End); err != nil {
		return err
	}
	if r.RetryAttempts < 0 {
		return fmt.Errorf("retry_attempts is negative (%d)", r.RetryAttempts)
	}
	if r.ResolvedLagMs < 0 {
		return fmt.Errorf("resolved_lag_ms is negative (%d)", r.ResolvedLagMs)
	}
	if r.Cause != "" && !slices.Contains(Causes(), r.Cause) {
		return fmt.Errorf("unknown cause %q (known: %s)", r.Cause, strings.Join(Causes(), ", "))
	}
	return nil
}

// checkSpan checks that both keys are hex (or hex CleanKey cut); the UI
// decodes them to t123_r456. An empty key is the start or the end of the
// keyspace.
func checkSpan(start, end string) error {
	if !isKey(start) {
		return fmt.Errorf("start key %s is not hex", quoteKey(start))
	}
	if !isKey(end) {
		return fmt.Errorf("end key %s is not hex", quoteKey(end))
	}
	return nil
}

// isKey: s is a key as CleanKey leaves one, hex whole or cut and marked.
func isKey(s string) bool {
	return len(s) <= MaxKeyLen && isHex(s) || isCutKey(s)
}

// quoteKey quotes a bad key for an error message: a long one by its start
// and its length, so that the reason after it is not cut off.
func quoteKey(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q… (%d bytes)", strings.ToValidUTF8(s[:64], ""), len(s))
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// DefaultDir is where snapshots go when the operator names no file:
// $XDG_STATE_HOME/pulltop, or ~/.local/state/pulltop when XDG_STATE_HOME is
// unset. A relative XDG_STATE_HOME is ignored, as the XDG spec requires. The
// directory is not created here; Save creates it.
func DefaultDir() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "pulltop"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("choosing a snapshot directory: XDG_STATE_HOME is not set and there is no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "pulltop"), nil
}

// NewFileName names a snapshot taken at t, e.g. "pulltop-20261125-203000.json".
// It uses t's location, so pass local time for names the operator recognises.
// Names sort by time; SaveNew adds _2, _3 to a name already taken.
func NewFileName(t time.Time) string {
	return "pulltop-" + t.Format("20060102-150405") + ".json"
}
