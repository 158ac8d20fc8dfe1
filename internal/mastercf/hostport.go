package mastercf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// lookupPort resolves a port name such as "smtp". It is a variable so
// tests do not depend on the machine's /etc/services.
var lookupPort = net.LookupPort

// HostPort returns the listen host and port of an inet service. Host is
// "" for a port-only name (listen on inet_interfaces); brackets are
// removed. Port names are resolved through /etc/services.
func (s *Service) HostPort() (host string, port int, err error) {
	if s.Type != Inet {
		return "", 0, fmt.Errorf("service %s is not an inet service", s.Key())
	}
	return SplitHostPort(s.Name)
}

// SplitHostPort parses an inet service name the way the master daemon
// does: "port", ":port", "host:port", "[host]:port" or "[ipv6:addr]:port".
// Without brackets the last ':' separates host and port, so a bare IPv6
// address works too ("::1:25").
func SplitHostPort(name string) (host string, port int, err error) {
	host, p, err := splitName(name)
	if err != nil {
		return "", 0, err
	}
	port, err = resolvePort(p)
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}

func splitName(name string) (host, port string, err error) {
	switch i := strings.LastIndexByte(name, ':'); {
	case strings.HasPrefix(name, "["):
		rest := name[1:]
		v6 := len(rest) >= 5 && strings.EqualFold(rest[:5], "ipv6:")
		if v6 {
			rest = rest[5:]
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", "", errors.New(`missing "]" after the host`)
		}
		host, rest = rest[:j], rest[j+1:]
		if rest != "" && rest[0] != ':' {
			return "", "", fmt.Errorf(`unexpected text %q after "]"`, rest)
		}
		if a, err := netip.ParseAddr(host); v6 && (err != nil || !a.Is6()) {
			return "", "", fmt.Errorf("malformed IPv6 address %q", host)
		}
		port = strings.TrimPrefix(rest, ":")
		if host == "" {
			return "", "", errors.New(`no host between "[" and "]"`)
		}
	case i >= 0:
		host, port = name[:i], name[i+1:]
	default:
		port = name
	}
	if port == "" {
		return "", "", errors.New("missing port after the host; write host:port")
	}
	if host != "" && !validHost(host) {
		return "", "", fmt.Errorf("%q is not a valid hostname or IP address", host)
	}
	return host, port, nil
}

func resolvePort(p string) (int, error) {
	if p[0] >= '0' && p[0] <= '9' {
		if strings.Trim(p, "0123456789") != "" {
			return 0, fmt.Errorf("garbage after numerical port in %q", p)
		}
		if n, err := strconv.Atoi(p); err == nil && n >= 1 && n <= 65535 {
			return n, nil
		}
		return 0, fmt.Errorf("port number %s is out of range 1-65535", p)
	}
	// getaddrinfo() matches service names case-sensitively; Go's resolver
	// does not, so reject what Postfix would reject at start-up.
	if p != strings.ToLower(p) {
		return 0, fmt.Errorf("unknown port name %q (port names are lower case)", p)
	}
	n, err := lookupPort("tcp", p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("unknown port name %q (not in /etc/services)", p)
	}
	return n, nil
}

// validHost accepts IP addresses and syntactically valid hostnames, like
// Postfix's valid_hostaddr() and valid_hostname(). Whether the name
// resolves is only known at start-up.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 255 || strings.Trim(h, "0123456789.") == "" {
		return false // empty, or a numeric name that is not an address
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// listenKey names the socket an inet service binds, so that "smtp" and
// "25", or "[127.0.0.1]:25" and "127.0.0.1:smtp", compare equal.
func listenKey(name string) (string, bool) {
	host, port, err := SplitHostPort(name)
	if err != nil {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	return strings.ToLower(host) + "|" + strconv.Itoa(port), true
}
