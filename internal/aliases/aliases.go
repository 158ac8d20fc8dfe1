// Package aliases reads and expands aliases(5) files as Postfix does.
//
// Parse and Build are postalias(1): an alias file has "name: value"
// logical lines (continuation lines start with white space, "#" lines
// are comments, also inside a continued entry). The line is split with
// Postfix's RFC 822 tokenizer, so a name with white space, "#", ":" or
// "@" must be double-quoted, and the stored value is the tokens written
// back (white space normalized, quoted strings kept quoted): a value is a
// list of destinations separated by commas or white space, each an
// address, "/file/name", "|command" or ":include:/file/name"; a command
// or file name with spaces must be quoted (`"|/usr/bin/vacation alice"`).
// Names are folded to lower case. Build writes the table that
// maps.Open("hash:/etc/aliases") (and cdb:) reads, replacing it
// atomically. Bad lines are skipped with postalias' warnings, naming file
// and line (measured with postalias 3.7.11):
//
//	aliases, line 9: need name:value pair      (no ":", no name, no value, "a,b: x")
//	aliases, line 21: name must be local       ("@" or "%" in the name)
//	aliases: logical line must not start with whitespace: "  x: y"
//	aliases, line 13: duplicate entry: "dup"   (the first one wins)
//
// Expander.Expand is the alias part of local(8): it looks a local part up
// in alias_maps and follows aliases of aliases to the destinations mail
// must be delivered to (see expand.go).
package aliases

import (
	"fmt"
	"os"
	"sort"
	"syscall"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/atomicfile"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

// Entry is one alias.
type Entry struct {
	Name  string // folded to lower case, unquoted
	Value string // destinations in external (quoted) form
	Line  int    // first physical line of the entry
}

// Parse reads alias file text as postalias does. path names the file in
// warnings. Duplicate names keep the first entry.
func Parse(path, data string) (entries []Entry, warnings []string) {
	lines, dropped := config.LogicalLines(data)
	type warning struct {
		line int
		msg  string
	}
	var ws []warning
	warn := func(line int, format string, args ...any) {
		ws = append(ws, warning{line, fmt.Sprintf(format, args...)})
	}
	for _, d := range dropped {
		warn(d.Num, "%s: logical line must not start with whitespace: \"%s\"", path, config.DroppedLineText(d.Text))
	}
	seen := make(map[string]bool, len(lines))
	for _, ln := range lines {
		if !utf8.ValidString(ln.Text) {
			warn(ln.Num, "%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line", path, ln.Num, maps.Printable(ln.Text))
			continue
		}
		toks := scan(ln.Text)
		colon := -1
		for i, t := range toks {
			if t.typ == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 || colon == len(toks)-1 || hasType(toks[:colon], ',') {
			warn(ln.Num, "%s, line %d: need name:value pair", path, ln.Num)
			continue
		}
		if hasType(toks[:colon], '@') || hasType(toks[:colon], '%') {
			warn(ln.Num, "%s, line %d: name must be local", path, ln.Num)
			continue
		}
		name := Fold(internalize(toks[:colon]))
		if seen[name] {
			warn(ln.Num, "%s, line %d: duplicate entry: \"%s\"", path, ln.Num, name)
			continue
		}
		seen[name] = true
		entries = append(entries, Entry{Name: name, Value: externalize(toks[colon+1:]), Line: ln.Num})
	}
	// Dropped lines were found in a separate pass: merge in file order.
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].line < ws[j].line })
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.msg
	}
	return entries, out
}

func hasType(toks []token, typ int) bool {
	for _, t := range toks {
		if t.typ == typ {
			return true
		}
	}
	return false
}

// Build is "postalias path" (newaliases): it parses the alias file path
// and writes path.cdb, the database that the hash:, btree:, lmdb: and
// cdb: tables named path read. The database replaces the old one
// atomically (temporary file, fsync, rename, directory fsync). As
// postalias does, it keeps only the group/other read permissions of the
// source and, when built by root, belongs to the owner of the source:
// local(8) runs commands and file deliveries of a database owned by a
// user with that user's rights.
//
// Keys are stored without a trailing NUL (the maps cdb reader also finds
// keys written with one). Unlike postalias, Build does not add the
// Sendmail/NIS marker entries "@", YP_LAST_MODIFIED and YP_MASTER_NAME:
// nothing in postern reads them.
func Build(path string) (warnings []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, unwrapPath(err))
	}
	entries, warnings := Parse(path, string(data))
	w := maps.NewCDBWriter()
	for _, e := range entries {
		if err := w.Add([]byte(e.Name), []byte(e.Value)); err != nil {
			return warnings, fmt.Errorf("alias database %s.cdb: %w", path, err)
		}
	}
	db, err := w.Bytes()
	if err != nil {
		return warnings, fmt.Errorf("alias database %s.cdb: %w", path, err)
	}
	dst := path + ".cdb"
	perm := os.FileMode(0o644) &^ (^st.Mode().Perm() & 0o077)
	if err := atomicfile.WriteFile(dst, db, perm); err != nil {
		return warnings, fmt.Errorf("alias database %s: %w", dst, err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Chown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
			return warnings, fmt.Errorf("alias database %s: %w", dst, err)
		}
	}
	return warnings, nil
}

// unwrapPath drops the *fs.PathError wrapper so that messages read like
// Postfix's "open /etc/aliases: No such file or directory".
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
