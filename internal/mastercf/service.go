package mastercf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// Service types (column 2).
const (
	Inet      = "inet"
	Unix      = "unix"
	UnixDgram = "unix-dgram"
	Fifo      = "fifo"
	Pass      = "pass"
)

var types = []string{Inet, Unix, UnixDgram, Fifo, Pass}

// UseDefault is the "-" column value: use the built-in default.
const UseDefault = "-"

// Flag is a y/n column (private, unpriv, chroot) as written: "y", "n" or
// "-". The raw text is kept so that printing reproduces the file.
type Flag string

// Bool is the flag's meaning; def is used for "-". Anything other than
// "y" and "n" is reported by Parse and also means def here.
func (f Flag) Bool(def bool) bool {
	switch f {
	case "y":
		return true
	case "n":
		return false
	}
	return def
}

// IsDefault reports whether the column is "-".
func (f Flag) IsDefault() bool { return f == UseDefault }

func (f Flag) valid() bool { return f == "y" || f == "n" || f == UseDefault }

// Override is one `-o name=value` daemon option.
type Override struct {
	Name  string
	Value string
}

// Service is one master.cf entry.
type Service struct {
	Name    string // column 1 as written
	Type    string // inet, unix, unix-dgram, fifo or pass
	Private Flag
	Unpriv  Flag
	Chroot  Flag
	Wakeup  string // "-", "N" or "N?" (wake only after first use)
	MaxProc string // "-" or "N"
	Command string
	// Args are the arguments after the command in postconf's canonical
	// form: {} groups removed, "-oname=value" split into "-o" "name=value",
	// "-o { name = value }" written as "name=value".
	Args []string
	// Overrides are the -o name=value options before the first non-option
	// argument, in file order: what postconf -P lists and the daemon
	// applies. Later ones win (see Param).
	Overrides []Override
	Line      int // first physical line of the entry
}

// Key is "name/type", postconf's name for the entry.
func (s *Service) Key() string { return s.Name + "/" + s.Type }

// IsPrivate reports whether the socket is private ("-" means y).
func (s *Service) IsPrivate() bool { return s.Private.Bool(true) }

// IsUnpriv reports whether the daemon drops root privileges ("-" means y).
func (s *Service) IsUnpriv() bool { return s.Unpriv.Bool(true) }

// IsChroot reports whether the daemon runs chrooted. "-" means n from
// compatibility_level 1 on, y below (Postfix's legacy default).
func (s *Service) IsChroot(level config.CompatLevel) bool {
	return s.Chroot.Bool(level.Compare(config.CompatLevel{Major: 1}) < 0)
}

// WakeupTime returns the wakeup interval in seconds (0: none) and whether
// it is conditional (trailing "?": only after the service was used).
func (s *Service) WakeupTime() (seconds int, conditional bool, err error) {
	v := s.Wakeup
	if strings.HasSuffix(v, "?") {
		v, conditional = v[:len(v)-1], true
	}
	if v == UseDefault || v == "" {
		return 0, false, nil // master ignores "?" without a positive time
	}
	n, err := number(v)
	if err != nil {
		return 0, false, fmt.Errorf("invalid wakeup field %q: %v", s.Wakeup, err)
	}
	return n, conditional && n > 0, nil
}

// ProcessLimit returns the maxproc column; "-" means def (the value of
// default_process_limit). 0 means no limit.
func (s *Service) ProcessLimit(def int) (int, error) {
	if s.MaxProc == UseDefault {
		return def, nil
	}
	n, err := number(s.MaxProc)
	if err != nil {
		return 0, fmt.Errorf("invalid maxproc field %q: %v", s.MaxProc, err)
	}
	return n, nil
}

// Param returns the value of the last -o option for name.
func (s *Service) Param(name string) (string, bool) {
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		if s.Overrides[i].Name == name {
			return s.Overrides[i].Value, true
		}
	}
	return "", false
}

// number parses a non-negative decimal column value. The limit keeps the
// value inside the C int that the master daemon stores it in.
func number(v string) (int, error) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("number too large")
	}
	return int(n), nil
}

// Settings returns the parameters the service's daemon runs with: cfg
// (main.cf) overridden by the service's -o options, the last of a name
// winning, and service_name set to the service's name, as Postfix's
// master passes them. Values stay raw and expand against the result:
// `-o smtpd_client_restrictions=$mua_client_restrictions` takes main.cf's
// user-defined mua_client_restrictions (empty when it is not defined,
// as in Postfix), and a -o value may refer to another -o.
func (s *Service) Settings(cfg *config.Config) *config.Config {
	values := make(map[string]string, len(s.Overrides)+1)
	values["service_name"] = s.Name
	for _, o := range s.Overrides {
		values[o.Name] = o.Value
	}
	return cfg.WithAll(values)
}
