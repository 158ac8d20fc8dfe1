package sendmail

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prog  string
		args  []string
		want  Options // Notes compared too
		error string
	}{
		{name: "plain", args: []string{"a@example.test", "b"},
			want: Options{DotEnds: true, Recipients: []string{"a@example.test", "b"}}},
		{name: "PHP's -t -i", args: []string{"-t", "-i"}, want: Options{Extract: true}},
		{name: "grouped and attached", args: []string{"-tiv", "-fme@example.test", "-FMe Myself", "x"},
			want: Options{Extract: true, Verbose: 1, Sender: "me@example.test", SenderSet: true, FullName: "Me Myself", FullSet: true, Recipients: []string{"x"}}},
		{name: "separate arguments, -r, -oi", args: []string{"-r", "me", "-oi", "-F", "", "x"},
			want: Options{Sender: "me", SenderSet: true, FullSet: true, Recipients: []string{"x"}}},
		{name: "no permutation: options after a recipient are recipients", args: []string{"a", "-f", "x"},
			want: Options{DotEnds: true, Recipients: []string{"a", "-f", "x"}}},
		{name: "-- ends options", args: []string{"--", "-a@b"}, want: Options{DotEnds: true, Recipients: []string{"-a@b"}}},
		{name: "DSN", args: []string{"-N", "success, delay", "-R", "hdrs", "-V", "env-1", "-B", "8BITMIME", "x"},
			want: Options{DotEnds: true, Notify: "SUCCESS,DELAY", Ret: "HDRS", EnvID: "env-1", EightBit: true, Recipients: []string{"x"}}},
		{name: "bad DSN values are warnings", args: []string{"-N", "bogus", "-R", "all", "-V", "a\tb", "x"},
			want: Options{DotEnds: true, Recipients: []string{"x"}, Notes: []string{"warning: bad -N option value -- ignored",
				"warning: bad -R option value -- ignored", "warning: bad syntax in -V option value -- ignored"}}},
		{name: "legacy options ignored", args: []string{"-L", "lab", "-h", "5", "-m", "-U", "-G", "-Am", "-O", "a=b", "-o7", "-oem", "-odb", "-e", "e", "-c", "-x", "-p", "foo", "-bm", "a"},
			want: Options{DotEnds: true, Recipients: []string{"a"}}},
		{name: "config file or directory", args: []string{"-C", "/etc/x/main.cf", "-Cignored/first", "-C/etc/y", "a"},
			want: Options{DotEnds: true, ConfigDir: "/etc/y", Recipients: []string{"a"}}},
		{name: "-bp", args: []string{"-bp"}, want: Options{Mode: MailQ, DotEnds: true}},
		{name: "mailq by name", prog: "/usr/bin/mailq", want: Options{Mode: MailQ, DotEnds: true}},
		{name: "newaliases by name, -bp wins", prog: "newaliases", args: []string{"-bp"}, want: Options{Mode: MailQ, DotEnds: true}},
		{name: "-I", args: []string{"-I"}, want: Options{Mode: NewAliases, DotEnds: true}},
		{name: "-bi -oA", args: []string{"-bi", "-oA/etc/aliases"}, want: Options{Mode: NewAliases, DotEnds: true, AliasDB: "/etc/aliases"}},
		{name: "-q", args: []string{"-q"}, want: Options{Mode: Flush, DotEnds: true}},
		{name: "-qIid", args: []string{"-qI4jYxQ92tW7z1DY"}, want: Options{Mode: Flush, DotEnds: true, QueueID: "4jYxQ92tW7z1DY"}},
		{name: "-q30m does nothing", args: []string{"-q30m"}, want: Options{Mode: Ignore, DotEnds: true}},
		{name: "-bh", args: []string{"-bh"}, want: Options{Mode: Ignore, DotEnds: true}},
		{name: "-bs", args: []string{"-bs"}, want: Options{Mode: SMTP, DotEnds: true}},
		{name: "-bd", args: []string{"-bd"}, want: Options{Mode: Daemon, DotEnds: true}},
		{name: "-bv", args: []string{"-bv", "a"}, want: Options{Verify: true, DotEnds: true, Recipients: []string{"a"}}},

		{name: "unknown option", args: []string{"-Z"}, error: "usage: sendmail [options]",
			want: Options{Notes: []string{"invalid option -- 'Z'"}}},
		{name: "missing argument", args: []string{"-f"}, error: "usage: sendmail [options]",
			want: Options{Notes: []string{"option requires an argument -- 'f'"}}},
		{name: "-n", args: []string{"-n"}, error: "-n option not supported"},
		{name: "-B", args: []string{"-B", "binary"}, error: "-B option needs 8BITMIME or 7BIT"},
		{name: "-bx", args: []string{"-bx"}, error: "unsupported: -bx"},
		{name: "-b empty", args: []string{"-b", ""}, error: "unsupported: -b"},
		{name: "VERP", args: []string{"-XV"}, error: "unsupported: -XV"},
		{name: "-qX", args: []string{"-qX"}, error: "-qX is not implemented"},
		{name: "-qR", args: []string{"-qR"}, error: "specify: -qRsitename"},
		{name: "-qI", args: []string{"-qI"}, error: "specify: -qIqueueid"},
		{name: "-oA without a path", args: []string{"-oA"}, error: "-oA requires pathname"},
		{name: "-t -bp", args: []string{"-t", "-bp"}, error: "-t can be used only in delivery mode"},
		{name: "-bv -t", args: []string{"-bv", "-t"}, error: "-t option cannot be used with -bv"},
		{name: "-bv -N", args: []string{"-bv", "-Nnever"}, error: "-N option cannot be used with -bv"},
		{name: "-bv -v", args: []string{"-bv", "-v"}, error: "-v option cannot be used with -bv"},
		{name: "-bp x", args: []string{"-bp", "x"}, error: "display queue mode requires no recipient"},
		{name: "-bi x", args: []string{"-bi", "x"}, error: "alias initialization mode requires no recipient"},
		{name: "-bs x", args: []string{"-bs", "x"}, error: "stand-alone mode requires no recipient"},
		{name: "-q x", args: []string{"-q", "x"}, error: "flush queue mode requires no recipient"},
		{name: "-qIid x", args: []string{"-qIabc", "x"}, error: "flush queue_id requires no recipient"},
		{name: "-qRsite -bp", args: []string{"-qRsite", "-bp"}, error: "-qR can be used only in delivery mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := tc.prog
			if prog == "" {
				prog = "sendmail"
			}
			o, err := Parse(prog, tc.args)
			if tc.error != "" {
				var e *Error
				if !errors.As(err, &e) || e.Msg != tc.error || e.Code != ExUsage {
					t.Fatalf("error %v, want %q (EX_USAGE)", err, tc.error)
				}
				if tc.want.Notes != nil && (o == nil || !reflect.DeepEqual(o.Notes, tc.want.Notes)) {
					t.Errorf("notes %q, want %q", o.Notes, tc.want.Notes)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Recipients) == 0 {
				o.Recipients = nil
			}
			if !reflect.DeepEqual(*o, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *o, tc.want)
			}
		})
	}
}
