package postconf

import (
	"fmt"
	"strings"
)

// options are postconf's flags. Short options combine (`-nx`), and an
// option that takes a value takes the rest of its word or the next word.
type options struct {
	dir                    string
	defaults, nonDefault   bool // -d, -n
	valueOnly, nameOnly    bool // -h, -H
	expand, fold, verbose  bool // -x, -f, -v
	edit, remove, comment  bool // -e, -X, -#
	master, fields, params bool // -M, -F, -P
	overrides              []string
	args                   []string
}

func parseOptions(argv []string) (*options, error) {
	o := &options{}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			switch c := a[j]; c {
			case 'c', 'o':
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(argv) {
						return nil, fmt.Errorf("option -%c requires an argument", c)
					}
					i++
					val = argv[i]
				}
				if c == 'c' {
					o.dir = val
				} else {
					o.overrides = append(o.overrides, val)
				}
				j = len(a)
			case 'd':
				o.defaults = true
			case 'n':
				o.nonDefault = true
			case 'h':
				o.valueOnly = true
			case 'H':
				o.nameOnly = true
			case 'x':
				o.expand = true
			case 'f':
				o.fold = true
			case 'v':
				o.verbose = true
			case 'e':
				o.edit = true
			case 'X':
				o.remove = true
			case '#':
				o.comment = true
			case 'M':
				o.master = true
			case 'F':
				o.fields = true
			case 'P':
				o.params = true
			default:
				return nil, fmt.Errorf("invalid option -- '%c'", c)
			}
		}
	}
	o.args = argv[i:]
	if o.defaults && o.nonDefault {
		return nil, fmt.Errorf("specify one of -d -n")
	}
	return o, nil
}

// editRequested reports whether the arguments ask for a main.cf edit.
func (o *options) editRequested() bool {
	if o.edit || o.remove || o.comment {
		return true
	}
	for _, a := range o.args {
		if strings.Contains(a, "=") {
			return true
		}
	}
	return false
}
