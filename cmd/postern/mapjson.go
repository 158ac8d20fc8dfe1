package main

import (
	"bufio"
	"io"

	"github.com/postern-mta/postern/internal/jsonlines"
	"github.com/postern-mta/postern/internal/maps"
)

// mapJSON is `postern map -jq KEY`, `-jq -` and `-js`: the answers as JSON
// Lines, {"key": ..., "table": "type:name", "value": ...}. Unlike the text
// form (first table that has the key), -jq writes one line per table that
// has the key, in the order the tables were named; -jq - does so for each
// key read from in, one key a line. Exit status as postmap -q: 0 when
// some key was found (or the tables listed), 1 when none or on error.
func mapJSON(stdout, stderr io.Writer, in io.Reader, query string, dump bool, tables []maps.Table) int {
	w := jsonlines.NewWriter(stdout)
	found := false
	lookup := func(key string) error {
		for _, t := range tables {
			v, ok, err := t.Lookup(key)
			if err != nil {
				return err
			}
			if ok {
				found = true
				if err := w.Write(jsonlines.Entry{Key: key, Table: t.Name(), Value: v}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var err error
	switch {
	case dump:
		found = true
		for _, t := range tables {
			var ok bool
			ok, err = maps.Each(t, func(k, v string) error {
				return w.Write(jsonlines.Entry{Key: k, Table: t.Name(), Value: v})
			})
			if err == nil && !ok {
				w.Flush()
				return fatalf(stderr, "table %s: sequence operation is not supported", t.Name())
			}
			if err != nil {
				break
			}
		}
	case query == "-":
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for err == nil && sc.Scan() {
			err = lookup(sc.Text())
		}
		if err == nil {
			err = sc.Err()
		}
	default:
		err = lookup(query)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if !found {
		return 1
	}
	return 0
}
