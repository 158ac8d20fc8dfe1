package milter

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Default actions (milter_default_action): what a milter that cannot be
// reached, times out or breaks the protocol stands for.
const (
	DefaultAccept     = "accept"
	DefaultReject     = "reject"
	DefaultTempfail   = "tempfail"
	DefaultQuarantine = "quarantine"
	DefaultShutdown   = "shutdown" // Postfix 3.11
)

// Settings are the per-milter settings: main.cf's milter_* values, or a
// "{ name, key=value, … }" entry's own.
type Settings struct {
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	ContentTimeout time.Duration
	DefaultAction  string
	// Protocol is milter_protocol: a version (2, 3, 4 or 6), optionally
	// with "no_header_reply".
	Protocol string
}

// DefaultSettings are Postfix's defaults.
func DefaultSettings() Settings {
	return Settings{DefaultConnectTimeout, DefaultCommandTimeout, DefaultContentTimeout, DefaultTempfail, "6"}
}

// Spec is one configured milter.
type Spec struct {
	// Name is the endpoint as configured ("inet:127.0.0.1:8891"), used
	// in log lines as Postfix does.
	Name string
	// Network and Address are what to dial ("tcp", "host:port" or
	// "unix", "/path").
	Network, Address string
	Settings
	offer OptNeg
}

// Offer is what postern proposes to this milter in SMFIC_OPTNEG.
func (s Spec) Offer() OptNeg { return s.offer }

// ParseList parses smtpd_milters or non_smtpd_milters, already split
// into elements (config.Fields strips the braces of a "{ … }" entry).
// Relative unix: paths are relative to queueDir, as in Postfix.
func ParseList(elems []string, def Settings, queueDir string) ([]Spec, error) {
	var specs []Spec
	for _, e := range elems {
		s, err := parseEntry(e, def, queueDir)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func parseEntry(e string, def Settings, queueDir string) (Spec, error) {
	f := strings.FieldsFunc(e, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	if len(f) == 0 {
		return Spec{}, fmt.Errorf("milter: empty entry")
	}
	s := Spec{Name: f[0], Settings: def}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return Spec{}, fmt.Errorf("milter %s: want name=value, not %q", s.Name, kv)
		}
		var err error
		switch k {
		case "connect_timeout":
			s.ConnectTimeout, err = parseTimeout(v)
		case "command_timeout":
			s.CommandTimeout, err = parseTimeout(v)
		case "content_timeout":
			s.ContentTimeout, err = parseTimeout(v)
		case "default_action":
			s.DefaultAction = v
		case "protocol":
			s.Protocol = v
		default:
			err = fmt.Errorf("unknown setting %q (connect_timeout, command_timeout, content_timeout, default_action, protocol)", k)
		}
		if err != nil {
			return Spec{}, fmt.Errorf("milter %s: %s: %w", s.Name, k, err)
		}
	}
	if err := CheckDefaultAction(s.DefaultAction); err != nil {
		return Spec{}, fmt.Errorf("milter %s: %w", s.Name, err)
	}
	var err error
	if s.offer, err = ParseProtocol(s.Protocol); err != nil {
		return Spec{}, fmt.Errorf("milter %s: %w", s.Name, err)
	}
	transport, endpoint, ok := strings.Cut(s.Name, ":")
	if !ok || transport == "" || endpoint == "" {
		return Spec{}, fmt.Errorf("milter service needs transport:endpoint instead of %q", s.Name)
	}
	switch transport {
	case "inet":
		host, port, err := splitInet(endpoint)
		if err != nil {
			return Spec{}, fmt.Errorf("milter %s: %w", s.Name, err)
		}
		s.Network, s.Address = "tcp", net.JoinHostPort(host, port)
	case "unix", "local":
		s.Network, s.Address = "unix", endpoint
		if !filepath.IsAbs(endpoint) && queueDir != "" {
			s.Address = filepath.Join(queueDir, endpoint)
		}
	default:
		return Spec{}, fmt.Errorf("invalid transport name: %s in Milter service: %s", transport, s.Name)
	}
	return s, nil
}

// splitInet splits "host:port", "[v6addr]:port" or Sendmail's
// "port@host".
func splitInet(ep string) (string, string, error) {
	var host, port string
	if p, h, ok := strings.Cut(ep, "@"); ok {
		host, port = h, p
	} else if h, p, err := net.SplitHostPort(ep); err == nil {
		host, port = h, p
	} else {
		return "", "", fmt.Errorf("want inet:host:port")
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", "", fmt.Errorf("missing host in inet:host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil && n > 0 {
		return host, port, nil
	} else if port == "" || port[0] >= '0' && port[0] <= '9' {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	return host, port, nil
}

func parseTimeout(v string) (time.Duration, error) {
	unit := time.Second
	num := v
	if n := len(v); n > 0 && (v[n-1] < '0' || v[n-1] > '9') {
		num = v[:n-1]
		switch v[n-1] {
		case 's':
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return 0, fmt.Errorf("bad time unit in %q", v)
		}
	}
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil || n < 1 || time.Duration(n)*unit/unit != time.Duration(n) || time.Duration(n)*unit > 1<<31*time.Second {
		return 0, fmt.Errorf("bad time value %q (at least 1s, at most 2^31s)", v)
	}
	return time.Duration(n) * unit, nil
}

// CheckDefaultAction validates milter_default_action.
func CheckDefaultAction(v string) error {
	switch strings.ToLower(v) {
	case DefaultAccept, DefaultReject, DefaultTempfail, DefaultQuarantine, DefaultShutdown:
		return nil
	}
	return fmt.Errorf("unknown default action %q (accept, reject, tempfail, quarantine, shutdown)", v)
}

// ParseProtocol turns milter_protocol (a version 2, 3, 4 or 6, and
// optionally "no_header_reply") into the OPTNEG offer, as Postfix's
// milter8 builds it: the events and flags defined for that version.
func ParseProtocol(v string) (OptNeg, error) {
	var o OptNeg
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch w {
		case "2", "3", "4", "6":
			if o.Version != 0 {
				return OptNeg{}, fmt.Errorf("bad protocol information: %s", v)
			}
			n, _ := strconv.Atoi(w)
			o.Version = uint32(n)
		case "no_header_reply":
			o.Protocol |= ProtoNRHeader
		default:
			return OptNeg{}, fmt.Errorf("bad protocol information: %s", w)
		}
	}
	switch o.Version {
	case 2:
		o.Protocol |= protoV2
	case 3:
		o.Protocol |= protoV3
	case 4:
		o.Protocol |= protoV4
	case 6:
		o.Protocol |= ProtoV6
	default:
		return OptNeg{}, fmt.Errorf("no protocol version information in %q", v)
	}
	o.Actions = ActAll
	return o, nil
}
