package config

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/restriction"
)

// WarningError marks a Check result that is worth reporting but does not
// make the configuration unusable.
type WarningError struct{ Err error }

func (w WarningError) Error() string { return w.Err.Error() }
func (w WarningError) Unwrap() error { return w.Err }

func asWarning(format string, args ...any) error {
	return WarningError{fmt.Errorf(format, args...)}
}

// Validate checks the expanded value of name against its kind and its own
// rules. Unknown names are not validated.
func (c *Config) Validate(name string) error {
	p, ok := params[name]
	if !ok {
		return nil
	}
	v, err := c.Get(name)
	if err != nil {
		return err
	}
	if err := validateKind(p, v); err != nil {
		return fmt.Errorf("parameter %s: %w", name, err)
	}
	if p.Kind == Restrictions {
		classes, _ := c.List("smtpd_restriction_classes")
		if _, errs := restriction.Parse(Fields(v), classes); len(errs) > 0 {
			return fmt.Errorf("parameter %s: %w", name, errors.Join(errs...))
		}
	}
	if p.Check != nil {
		if err := p.Check(c, v); err != nil {
			var w WarningError
			if errors.As(err, &w) {
				return WarningError{fmt.Errorf("parameter %s: %w", name, w.Err)}
			}
			return fmt.Errorf("parameter %s: %w", name, err)
		}
	}
	return nil
}

func validateKind(p *Param, v string) error {
	switch p.Kind {
	case Bool:
		_, err := ParseBool(v)
		return err
	case Int, Size:
		n, err := ParseInt(v)
		if err != nil {
			return err
		}
		return checkMin(p.Name, n, "")
	case Time:
		n, err := ParseTime(v, p.Unit)
		if err != nil {
			return err
		}
		return checkMin(p.Name, n, "s")
	case MapList:
		for _, m := range Fields(v) {
			if err := checkMapName(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMapName accepts type:name lookup table references.
func checkMapName(m string) error {
	typ, name, ok := strings.Cut(m, ":")
	if !ok || typ == "" || name == "" {
		return fmt.Errorf("%q is not a lookup table (expected type:name, e.g. hash:/etc/aliases)", m)
	}
	return nil
}

func checkCompatLevel(_ *Config, v string) error {
	_, err := ParseCompatLevel(v)
	return err
}

func oneOf(values ...string) func(*Config, string) error {
	return func(_ *Config, v string) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("unknown value %q (use one of: %s)", v, strings.Join(values[1:], ", "))
	}
}

func checkInetProtocols(_ *Config, v string) error {
	_, err := inetaddr.ParseProtocols(v)
	return err
}

func checkInetInterfaces(c *Config, _ string) error {
	_, err := c.InetAddrs(context.Background())
	return unwrapParam(err)
}

func checkProxyInterfaces(c *Config, v string) error {
	for _, f := range Fields(v) {
		if f == "all" || f == "loopback-only" {
			return fmt.Errorf("%q is not allowed here: list host names or addresses", f)
		}
	}
	p, err := c.Protocols()
	if err != nil {
		return nil // reported for inet_protocols
	}
	for _, f := range Fields(v) {
		host := strings.TrimSuffix(strings.TrimPrefix(f, "["), "]")
		if _, err := netip.ParseAddr(host); err == nil {
			continue
		}
		if addrs, err := c.Sys.LookupHost(context.Background(), host); err != nil || !anyAllowed(addrs, p) {
			return fmt.Errorf("host not found: %s", f)
		}
	}
	return nil
}

func anyAllowed(addrs []netip.Addr, p inetaddr.Protocols) bool {
	for _, a := range addrs {
		if p.Allows(a.Unmap()) {
			return true
		}
	}
	return false
}

// unwrapParam drops the "parameter NAME: " prefix Validate adds itself.
func unwrapParam(err error) error {
	if err == nil {
		return nil
	}
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// checkMynetworksStyle: a bad mynetworks_style is Postfix's fatal error
// when the default mynetworks needs it, and only a warning while
// mynetworks is set (Postfix never reads it then).
func checkMynetworksStyle(c *Config, v string) error {
	_, err := inetaddr.ParseMynetworksStyle(v)
	if err == nil {
		return nil
	}
	_, inMain := c.SetInMain("mynetworks")
	if _, override := c.Overrides["mynetworks"]; inMain || override {
		return asWarning("%v (no effect while mynetworks is set)", err)
	}
	return err
}

// checkMynetworks validates each element the way smtpd will parse it, so a
// bad entry is found here rather than as "451 4.3.0 Temporary lookup
// failure" for every client at RCPT time.
func checkMynetworks(_ *Config, v string) error {
	var errs []error
	for _, f := range Fields(v) {
		if strings.HasPrefix(f, "#") {
			errs = append(errs, fmt.Errorf("comment at end of line is not supported: %q (move it to a line of its own)", f))
			break
		}
		if err := CheckNetwork(f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckNetwork validates one mynetworks-style element: an IPv4 address or
// CIDR, a bracketed IPv6 address or CIDR, a host or domain name, a /file
// or a type:table, optionally negated with "!".
func CheckNetwork(f string) error {
	e := strings.TrimPrefix(f, "!")
	switch {
	case strings.HasPrefix(e, "/"):
		if _, err := os.Stat(e); err != nil {
			return fmt.Errorf("%q: %v", f, errors.Unwrap(err))
		}
		return nil
	case strings.HasPrefix(e, "["):
		end := strings.IndexByte(e, ']')
		if end < 0 {
			return fmt.Errorf("%q: missing ']'", f)
		}
		a, err := netip.ParseAddr(e[1:end])
		if err != nil || !a.Is6() {
			return fmt.Errorf("%q: bad IPv6 address in brackets", f)
		}
		return checkPrefix(f, a, e[end+1:])
	}
	host, bits, hasBits := strings.Cut(e, "/")
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is6() {
			return fmt.Errorf("%q: an IPv6 network must be written in brackets, e.g. [%s]/%s", f, host, orDefault(bits, "128"))
		}
		if !hasBits {
			return nil
		}
		return checkPrefix(f, a, "/"+bits)
	}
	if strings.Contains(e, ":") {
		return checkMapName(e)
	}
	if hasBits || !validHostname(e) {
		return fmt.Errorf("%q is not an address, network, host name, /file or type:table", f)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func checkPrefix(f string, a netip.Addr, rest string) error {
	if rest == "" {
		return nil
	}
	if !strings.HasPrefix(rest, "/") {
		return fmt.Errorf("%q: unexpected text after the address", f)
	}
	n, err := strconv.Atoi(rest[1:])
	if err != nil || n < 0 || n > a.BitLen() {
		return fmt.Errorf("%q: bad prefix length", f)
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked().Addr() != a {
		want := p.Masked().String()
		if a.Is6() {
			want = fmt.Sprintf("[%s]/%d", p.Masked().Addr(), n)
		}
		return fmt.Errorf("non-null host address bits in %q, perhaps you should use %q instead", f, want)
	}
	return nil
}

// validHostname follows Postfix's valid_hostname(): letters, digits, '-'
// and '_', dot-separated labels of 1..63, no hyphen at a label's ends.
func validHostname(h string) bool { return hostnameProblem(h) == "" }

func hostnameProblem(h string) string {
	if h == "" {
		return "empty hostname"
	}
	if len(h) > 255 {
		return "bad length"
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return "misplaced delimiter"
		}
		if len(label) > 63 {
			return "bad label length"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "misplaced hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isNameChar(c) && c != '-' {
				return fmt.Sprintf("invalid character %d(decimal)", c)
			}
		}
	}
	return ""
}

func checkHostname(_ *Config, v string) error {
	if p := hostnameProblem(v); p != "" {
		return fmt.Errorf("bad hostname %q: %s", v, p)
	}
	return nil
}

func checkMyhostname(c *Config, v string) error {
	if err := checkHostname(c, v); err != nil {
		return err
	}
	if !strings.Contains(v, ".") {
		return asWarning("%q is not a fully-qualified domain name", v)
	}
	return nil
}

func checkMyorigin(_ *Config, v string) error {
	if len(Fields(v)) > 1 {
		return fmt.Errorf("must not contain multiple values: %s", v)
	}
	return nil
}

func checkRelayhost(c *Config, v string) error {
	host, _ := c.Get("myhostname")
	for _, f := range Fields(v) {
		if strings.EqualFold(f, host) {
			return fmt.Errorf("relayhost and myhostname must not be identical: %s (write [%s] to skip the MX lookup)", f, f)
		}
		if err := checkNexthop(f); err != nil {
			return err
		}
	}
	return nil
}

// checkNexthop accepts host, host:port, [host], [host]:port, [ipv6]:port.
func checkNexthop(f string) error {
	h, port := f, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return fmt.Errorf("bad next-hop %q: missing ']'", f)
		}
		h, port = h[1:end], strings.TrimPrefix(h[end+1:], ":")
		if rest := f[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return fmt.Errorf("bad next-hop %q: unexpected text after ']'", f)
		}
		if _, err := netip.ParseAddr(strings.TrimPrefix(h, "ipv6:")); err == nil {
			h = "localhost"
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h, port = h[:i], h[i+1:]
	}
	if !validHostname(h) {
		return fmt.Errorf("bad next-hop %q: bad host name %q", f, h)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil && !validHostname(port) || err == nil && (n < 1 || n > 65535) {
			return fmt.Errorf("bad next-hop %q: bad port %q", f, port)
		}
	}
	return nil
}

func checkBindAddress(v string, want6 bool) error {
	if v == "" {
		return nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"))
	if err != nil || a.Is6() != want6 {
		fam := "IPv4"
		if want6 {
			fam = "IPv6"
		}
		return fmt.Errorf("%q is not an %s address", v, fam)
	}
	return nil
}

func checkBindAddress4(_ *Config, v string) error { return checkBindAddress(v, false) }
func checkBindAddress6(_ *Config, v string) error { return checkBindAddress(v, true) }

func checkReadableFile(_ *Config, v string) error {
	if v == "" {
		return nil
	}
	f, err := os.Open(v)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", v, errors.Unwrap(err))
	}
	return f.Close()
}

func checkUser(_ *Config, v string) error {
	if _, err := user.Lookup(v); err != nil {
		return asWarning("unknown user %q: create it before starting postern as root", v)
	}
	return nil
}

// ForbiddenNonLetter is the table in Postfix's default
// smtpd_forbidden_commands: an unknown command that starts with anything
// but a letter (the table is case-insensitive) is not SMTP. postern knows
// this one table, not the regexp: type inline.
const ForbiddenNonLetter = "regexp:{{/^[^A-Z]/ Bogus}}"

// checkForbiddenCommands accepts command names and ForbiddenNonLetter.
func checkForbiddenCommands(_ *Config, v string) error {
	for _, f := range Fields(v) {
		if f == ForbiddenNonLetter {
			continue
		}
		if strings.ContainsAny(f, ":!{}/") {
			return fmt.Errorf("postern does not implement %q here: list command names (and %s, as in the default)", f, ForbiddenNonLetter)
		}
	}
	return nil
}
