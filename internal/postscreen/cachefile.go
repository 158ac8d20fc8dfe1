package postscreen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The cache file is text, one record a line, so that a record is
// appended with one write and a write torn by a crash spoils at most the
// last line:
//
//	postern-postscreen-cache v1 pregreet dnsbl pipelining non_smtp_command bare_newline
//	192.0.2.1 1765200000 1765110000 0 0 0
//
// The first line names the format, its version and the columns: each
// record is the client address, then one expiry time per column, in
// seconds since 1970 (0: not passed). A reader maps the columns by name,
// so a new Record field is a new column, and a column this version does
// not know is read over (its value is lost at the next compaction: the
// client is tested again). The version changes only for a change older
// readers cannot read over; a file of another version is refused, never
// overwritten. Later lines win over earlier ones for the same address.

const (
	cacheMagic   = "postern-postscreen-cache"
	cacheVersion = "v1"
	// maxCacheLine bounds a record line; a longer one is damage.
	maxCacheLine = 512
	// maxStamp is the last second of year 9999.
	maxStamp = 253402300799
)

// cacheColumns are the Record fields, by column name, in the order this
// version writes them.
var cacheColumns = []struct {
	name  string
	field func(*Record) *time.Time
}{
	{"pregreet", func(r *Record) *time.Time { return &r.Pregreet }},
	{"dnsbl", func(r *Record) *time.Time { return &r.DNSBL }},
	{"pipelining", func(r *Record) *time.Time { return &r.Pipelining }},
	{"non_smtp_command", func(r *Record) *time.Time { return &r.NonSMTP }},
	{"bare_newline", func(r *Record) *time.Time { return &r.BareNewline }},
}

// cacheHeader is the first line this version writes.
func cacheHeader() []byte {
	b := []byte(cacheMagic + " " + cacheVersion)
	for _, c := range cacheColumns {
		b = append(b, ' ')
		b = append(b, c.name...)
	}
	return append(b, '\n')
}

// columns maps a file's columns to cacheColumns indexes (-1: unknown).
type columns []int

// errNotCacheFile is a first line that is not a cache file's.
var errNotCacheFile = errors.New("not a postern postscreen cache file")

// parseHeader reads a file's first line (without its newline).
func parseHeader(line string) (columns, error) {
	f := strings.Split(line, " ")
	if len(f) < 2 || f[0] != cacheMagic {
		return nil, errNotCacheFile
	}
	if f[1] != cacheVersion {
		return nil, fmt.Errorf("format %q, and this postern reads %s only", f[1], cacheVersion)
	}
	cols := make(columns, 0, len(f)-2)
	seen := map[string]bool{}
	for _, name := range f[2:] {
		if name == "" || seen[name] || strings.ContainsFunc(name, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) {
			return nil, fmt.Errorf("bad column name %q", name)
		}
		seen[name] = true
		i := -1
		for j, c := range cacheColumns {
			if c.name == name {
				i = j
			}
		}
		cols = append(cols, i)
	}
	return cols, nil
}

// parseRecord reads a record line (without its newline).
func (cols columns) parseRecord(line string) (netip.Addr, Record, error) {
	f := strings.Split(line, " ")
	if len(f) != 1+len(cols) {
		return netip.Addr{}, Record{}, fmt.Errorf("%d fields, want %d", len(f), 1+len(cols))
	}
	addr, err := netip.ParseAddr(f[0])
	if err != nil {
		return netip.Addr{}, Record{}, err
	}
	var r Record
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxStamp || (len(s) > 1 && s[0] == '0') {
			return netip.Addr{}, Record{}, fmt.Errorf("bad time %q", s)
		}
		if cols[i] < 0 || n == 0 {
			continue
		}
		*cacheColumns[cols[i]].field(&r) = time.Unix(n, 0)
	}
	return addr, r, nil
}

// appendRecord appends addr's record line, in this version's columns.
// It reports false, appending nothing, for an address whose text would
// not read back (a zone with spaces or control characters).
func appendRecord(b []byte, addr netip.Addr, r Record) ([]byte, bool) {
	a := addr.String()
	if strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r >= 0x7f }) || len(a) > 100 {
		return b, false
	}
	b = append(b, a...)
	for _, c := range cacheColumns {
		t := *c.field(&r)
		var n int64
		if !t.IsZero() {
			n = min(max(t.Unix(), 0), maxStamp)
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, '\n'), true
}

// loadStats is what reading a file found.
type loadStats struct {
	lines     int // record lines read, good or bad
	bad       int // damaged lines skipped
	firstBad  int // line number of the first
	badReason string
}

// readCache reads a cache file, calling put for each good record in
// order. A damaged line (unparsable, too long, or the last one without
// its newline, which a crash may have cut anywhere) is skipped and
// counted; a header that is not this format's is an error, and an empty
// file is an empty cache.
func readCache(rd io.Reader, put func(netip.Addr, Record)) (loadStats, error) {
	var st loadStats
	br := bufio.NewReaderSize(rd, 4096)
	var cols columns
	for n := 1; ; n++ {
		line, complete, err := readCacheLine(br)
		if err != nil && err != io.EOF {
			return st, err
		}
		if len(line) == 0 && err == io.EOF {
			return st, nil
		}
		if n == 1 {
			if !complete {
				return st, errNotCacheFile
			}
			if cols, err = parseHeader(string(line)); err != nil {
				return st, err
			}
			continue
		}
		st.lines++
		var reason string
		if !complete {
			reason = "cut short"
		} else if addr, r, perr := cols.parseRecord(string(line)); perr != nil {
			reason = perr.Error()
		} else {
			put(addr, r)
		}
		if reason != "" {
			if st.bad == 0 {
				st.firstBad, st.badReason = n, reason
			}
			st.bad++
		}
		if err == io.EOF {
			return st, nil
		}
	}
}

// readCacheLine returns the next line without its newline, and whether it
// was whole: ended by a newline and at most maxCacheLine bytes (the
// rest of a longer line is read over).
func readCacheLine(br *bufio.Reader) ([]byte, bool, error) {
	var line []byte
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
			if len(line) > maxCacheLine+1 {
				long, line = true, line[:maxCacheLine]
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return line, false, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		return line, !long, nil
	}
}
