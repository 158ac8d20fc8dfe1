package sendmail

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/pickup"
)

// Mode is what the command was asked to do.
type Mode int

const (
	Enqueue    Mode = iota // read a message and submit it (-bm, the default)
	MailQ                  // -bp, mailq: list the queue
	NewAliases             // -bi, -I, newaliases: build the alias database
	Flush                  // -q, -qIid, -qRsite: deliver queued mail now
	SMTP                   // -bs: SMTP on standard input and output
	Daemon                 // -bd: start the mail system
	Ignore                 // -bh, -bH, -qinterval: nothing to do
)

// Options is the parsed command line.
type Options struct {
	Mode       Mode
	ConfigDir  string // -C, "" for the default
	Sender     string // -f, -r
	SenderSet  bool
	FullName   string // -F
	FullSet    bool
	Extract    bool // -t: recipients from To:, Cc:, Bcc:
	DotEnds    bool // a line with only "." ends the input (off with -i, -oi)
	Verify     bool // -bv
	Verbose    int  // -v
	Notify     string
	Ret        string
	EnvID      string
	EightBit   bool
	QueueID    string // -qIid
	Site       string // -qRsite
	AliasDB    string // -oAfile
	Recipients []string
	// Notes are diagnostics to print, after "sendmail: ", before acting:
	// warnings about ignored values, getopt complaints.
	Notes []string
}

// optionsWithArg are the letters that take an argument, as in Postfix's
// GETOPT_LIST "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx".
const (
	optionsWithArg = "ABCFLNORVXbefhopqr"
	optionsBare    = "GIUcimntvx"
)

// Parse reads sendmail's command line the way Postfix's sendmail does:
// getopt without permutation (the first non-option starts the
// recipients), Sendmail's legacy options accepted and ignored, "-q"
// alone flushing the queue. prog is the name called (mailq and
// newaliases change the default mode). Errors are *Error with EX_USAGE.
func Parse(prog string, args []string) (*Options, error) {
	o := &Options{DotEnds: true}
	switch filepath.Base(prog) {
	case "mailq":
		o.Mode = MailQ
	case "newaliases":
		o.Mode = NewAliases
	}
	qtime := false
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			break
		}
		if arg == "-q" {
			o.Mode = Flush
			continue
		}
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			var val string
			switch {
			case strings.IndexByte(optionsWithArg, c) >= 0:
				switch {
				case j+1 < len(arg):
					val = arg[j+1:]
				case i+1 < len(args):
					i++
					val = args[i]
				default:
					o.Notes = append(o.Notes, fmt.Sprintf("option requires an argument -- '%c'", c))
					return o, usage(prog)
				}
				j = len(arg)
			case strings.IndexByte(optionsBare, c) < 0:
				o.Notes = append(o.Notes, fmt.Sprintf("invalid option -- '%c'", c))
				return o, usage(prog)
			}
			if err := o.option(c, val, &qtime); err != nil {
				return o, err
			}
		}
	}
	o.Recipients = args[i:]
	if err := o.check(); err != nil {
		return o, err
	}
	if qtime && o.Mode != Daemon {
		o.Mode = Ignore // -q30m: Postfix's queue_run_delay does that
	}
	return o, nil
}

func usage(prog string) error {
	return usageErr("usage: %s [options]", filepath.Base(prog))
}

func usageErr(format string, a ...any) error {
	return &Error{Code: ExUsage, Msg: fmt.Sprintf(format, a...)}
}

// option applies one option letter and its argument.
func (o *Options) option(c byte, val string, qtime *bool) error {
	first := byte(0) // of the argument: -b, -o, -q and -X are families
	if val != "" {
		first = val[0]
	}
	switch c {
	case 'n':
		return usageErr("-n option not supported")
	case 'B':
		switch val {
		case "8BITMIME":
			o.EightBit = true
		case "7BIT":
			o.EightBit = false
		default:
			return usageErr("-B option needs 8BITMIME or 7BIT")
		}
	case 'C':
		o.ConfigDir = val
		if filepath.Base(val) == "main.cf" {
			o.ConfigDir = filepath.Dir(val)
		}
	case 'F':
		o.FullName, o.FullSet = val, true
	case 'I':
		o.Mode = NewAliases
	case 'N':
		if o.Notify = pickup.CanonicalNotify(val); o.Notify == "" {
			o.Notes = append(o.Notes, "warning: bad -N option value -- ignored")
		}
	case 'R':
		switch strings.ToLower(val) {
		case "full", "hdrs":
			o.Ret = strings.ToUpper(val)
		default:
			o.Notes = append(o.Notes, "warning: bad -R option value -- ignored")
		}
	case 'V':
		switch {
		case len(val) > 100:
			o.Notes = append(o.Notes, "warning: too long -V option value -- ignored")
		case val == "" || strings.ContainsFunc(val, func(r rune) bool { return r < ' ' || r > '~' }):
			o.Notes = append(o.Notes, "warning: bad syntax in -V option value -- ignored")
		default:
			o.EnvID = val
		}
	case 'X':
		return usageErr("unsupported: -X%s", val[:min(len(val), 1)])
	case 'b':
		switch first {
		case 'd':
			o.Mode = Daemon
		case 'h', 'H':
			o.Mode = Ignore
		case 'i':
			o.Mode = NewAliases
		case 'm':
			o.Mode = Enqueue
		case 'p':
			o.Mode = MailQ
		case 's':
			o.Mode = SMTP
		case 'v':
			o.Verify = true
		default:
			return usageErr("unsupported: -b%s", val[:min(len(val), 1)])
		}
	case 'f', 'r':
		o.Sender, o.SenderSet = val, true
	case 'i':
		o.DotEnds = false
	case 'o':
		switch first {
		case 'i':
			o.DotEnds = false
		case 'A':
			if len(val) == 1 {
				return usageErr("-oA requires pathname")
			}
			o.AliasDB = val[1:]
		}
	case 'q':
		switch {
		case first >= '0' && first <= '9':
			*qtime = true
		case first == 'R' && len(val) > 1:
			o.Site, o.Mode = val[1:], Flush
		case first == 'R':
			return usageErr("specify: -qRsitename")
		case first == 'I' && len(val) > 1:
			o.QueueID, o.Mode = val[1:], Flush
		case first == 'I':
			return usageErr("specify: -qIqueueid")
		default:
			return usageErr("-q%s is not implemented", val[:min(len(val), 1)])
		}
	case 't':
		o.Extract = true
	case 'v':
		o.Verbose++
	}
	// A, G, L, O, U, c, e, h, m, p, x: Sendmail options Postfix ignores.
	return nil
}

// check refuses combinations Postfix refuses, with its words.
func (o *Options) check() error {
	enqueue := o.Mode == Enqueue || (o.Mode == Flush && (o.Site != "" || o.QueueID != ""))
	switch {
	case o.Extract && o.Mode != Enqueue:
		return usageErr("-t can be used only in delivery mode")
	case o.Verify && o.Extract:
		return usageErr("-t option cannot be used with -bv")
	case o.Verify && o.Notify != "":
		return usageErr("-N option cannot be used with -bv")
	case o.Verify && o.Verbose == 1:
		return usageErr("-v option cannot be used with -bv")
	case !enqueue && o.Site != "":
		return usageErr("-qR can be used only in delivery mode")
	case !enqueue && o.QueueID != "":
		return usageErr("-qI can be used only in delivery mode")
	case len(o.Recipients) == 0:
		return nil
	case o.Site != "":
		return usageErr("flush site requires no recipient")
	case o.QueueID != "":
		return usageErr("flush queue_id requires no recipient")
	}
	what := map[Mode]string{MailQ: "display queue mode", NewAliases: "alias initialization mode", Flush: "flush queue mode",
		SMTP: "stand-alone mode", Daemon: "daemon mode"}[o.Mode]
	if what != "" {
		return usageErr("%s requires no recipient", what)
	}
	return nil
}
