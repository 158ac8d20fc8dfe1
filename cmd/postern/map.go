package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// runMap is `postern map`, compatible with postmap(1): build the indexed
// file of a table from its text source (hash:, cdb:, btree:, lmdb: all
// become a .cdb), -q KEY to query, -q - for keys on standard input, -s to
// list. -j writes the -q and -s results as JSON Lines (mapjson.go).
// Exit status: 0 found/built, 1 not found or error.
func runMap(args []string, stdout, stderr io.Writer) int {
	var query string
	var dump, haveQuery, asJSON bool
	i := 0
flags:
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		switch args[i] {
		case "-q":
			if i+1 >= len(args) {
				return fatalf(stderr, "-q requires a key")
			}
			i++
			query, haveQuery = args[i], true
		case "-s":
			dump = true
		case "-j":
			asJSON = true
		case "-jq", "-qj":
			if i+1 >= len(args) {
				return fatalf(stderr, "-q requires a key")
			}
			i++
			query, haveQuery, asJSON = args[i], true, true
		case "-js", "-sj":
			dump, asJSON = true, true
		case "-c":
			i++ // the configuration directory is not needed for tables
		case "--":
			i++
			break flags
		default:
			return fatalf(stderr, "usage: postern map [-j] [-q key | -q - | -s] type:file ...")
		}
	}
	specs := args[i:]
	if len(specs) == 0 {
		return fatalf(stderr, "usage: postern map [-j] [-q key | -q - | -s] type:file ...")
	}
	if asJSON && !haveQuery && !dump {
		return fatalf(stderr, "-j requires -q or -s")
	}
	if !haveQuery && !dump {
		for _, spec := range specs {
			warns, err := maps.Build("", spec)
			for _, w := range warns {
				fmt.Fprintf(stderr, "postern: warning: %s\n", w)
			}
			if err != nil {
				return fatalf(stderr, "%v", err)
			}
		}
		return 0
	}
	var tables []maps.Table
	for _, spec := range specs {
		t, err := maps.Open(spec)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		// As postmap: the rules a regexp:, pcre: or cidr: table skips
		// (bad $n, unclosed delimiter, bad mask or network) are warned
		// about when it is opened.
		for _, w := range maps.Warnings(t) {
			fmt.Fprintf(stderr, "postern: warning: %s\n", w)
		}
		tables = append(tables, t)
	}
	if asJSON {
		return mapJSON(stdout, stderr, os.Stdin, query, dump, tables)
	}
	if dump {
		for _, t := range tables {
			if err := maps.Dump(stdout, t); err != nil {
				return fatalf(stderr, "%v", err)
			}
		}
		return 0
	}
	if query == "-" {
		found, err := maps.QueryStream(stdout, os.Stdin, tables...)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		if !found {
			return 1
		}
		return 0
	}
	v, found, err := maps.Query(query, tables...)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if !found {
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}
