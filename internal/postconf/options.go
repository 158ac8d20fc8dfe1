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
	json                   bool // -j: JSON Lines, postern's own format
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
			case 'j':
				o.json = true
			default:
				return nil, fmt.Errorf("invalid option -- '%c'", c)
			}
		}
	}
	o.args = argv[i:]
	return o, o.check()
}

// flags maps the options that postconf checks for conflicts to their
// names, in the order postconf names them in its messages.
func (o *options) flags() []flag {
	return []flag{{"-d", o.defaults}, {"-e", o.edit}, {"-f", o.fold}, {"-F", o.fields},
		{"-h", o.valueOnly}, {"-j", o.json}, {"-M", o.master}, {"-n", o.nonDefault}, {"-o", len(o.overrides) > 0},
		{"-P", o.params}, {"-x", o.expand}, {"-X", o.remove}, {"-#", o.comment}}
}

type flag struct {
	name string
	set  bool
}

// check refuses the option combinations postconf refuses, with its
// messages: options that exclude each other ("specify one of -e -f"),
// then options a mode does not take ("with option -F, do not specify
// -X"). An argument with '=' implies -e, as in postconf.
func (o *options) check() error {
	if (o.master || o.fields || o.params) && len(o.args) > 0 && strings.Contains(o.args[0], "=") {
		o.edit = true
	}
	named := func(set map[string]bool) []string {
		var out []string
		for _, f := range o.flags() {
			if f.set && set[f.name] {
				out = append(out, f.name)
			}
		}
		return out
	}
	for _, group := range []string{"-F -M -P", "-d -e -n -X -#", "-e -f -X -#", "-e -x -X -#",
		"-d -e -o -X -#", "-e -h -X -#", "-e -j -X -#", "-f -j", "-h -j"} {
		set := map[string]bool{}
		for _, n := range strings.Fields(group) {
			set[n] = true
		}
		if on := named(set); len(on) > 1 {
			return fmt.Errorf("specify one of %s", strings.Join(on, " "))
		}
	}
	for _, mode := range []struct{ name, allowed string }{
		{"-M", "-e -X -# -f -j -o -x"},
		{"-F", "-e -f -h -o -x"},
		{"-P", "-e -X -f -h -o -x"},
	} {
		if !o.isSet(mode.name) {
			continue
		}
		excess := map[string]bool{}
		for _, f := range o.flags() {
			if f.name != mode.name && !strings.Contains(" "+mode.allowed+" ", " "+f.name+" ") {
				excess[f.name] = true
			}
		}
		if on := named(excess); len(on) > 0 {
			return fmt.Errorf("with option %s, do not specify %s", mode.name, strings.Join(on, " "))
		}
	}
	if o.json && o.nameOnly {
		return fmt.Errorf("specify one of -H -j")
	}
	if o.edit && len(o.args) == 0 {
		return fmt.Errorf("-e requires name=value argument")
	}
	return nil
}

func (o *options) isSet(name string) bool {
	for _, f := range o.flags() {
		if f.name == name {
			return f.set
		}
	}
	return false
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
