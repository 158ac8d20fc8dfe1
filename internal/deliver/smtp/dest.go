package smtp

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/inetaddr"
)

// destination is one next-hop site: "example.net" (MX lookup),
// "example.net:587" (MX lookup, port 587), "[mail.example.net]:587" or
// "[192.0.2.1]" (addresses only), as Postfix's host_port() reads them.
type destination struct {
	site     string     // as written: the key for the password table and the session cache
	host     string     // domain or host name, or the address of a literal
	port     int        //
	mx       bool       // look up MX records
	literal  netip.Addr // set when host is an IP address
	fallback bool       // from smtp_fallback_relay
	unix     string     // LMTP "unix:" next hop: the socket path as written
}

// sites splits a next hop (possibly a list) and appends the fallback
// relays, as smtp_connect_inet does.
func sites(nexthop string, fallback []string) []string {
	list := inetaddr.Fields(nexthop)
	for _, f := range fallback {
		list = append(list, inetaddr.Fields(f)...)
	}
	return list
}

// lmtpSites splits an LMTP next hop as Postfix's smtp_connect does with
// smtp_mode off: "unix:path" is one site; otherwise an "inet:" prefix is
// dropped and the rest is a list of host[:port] sites.
func lmtpSites(nexthop string) []string {
	if strings.HasPrefix(nexthop, "unix:") {
		return []string{nexthop}
	}
	return inetaddr.Fields(strings.TrimPrefix(nexthop, "inet:"))
}

// parseLMTPDestination parses one LMTP site: "unix:path", whose server is
// this host (myhostname) at that path, or host[:port] as parseDestination
// reads it, without MX lookup.
func parseLMTPDestination(site, myhostname string, defPort int) (destination, error) {
	if path, ok := strings.CutPrefix(site, "unix:"); ok {
		if path == "" {
			return destination{site: site}, fmt.Errorf("empty pathname in server description: %s", site)
		}
		if myhostname == "" {
			myhostname = "localhost"
		}
		return destination{site: path, host: myhostname, unix: path}, nil
	}
	d, err := parseDestination(site, defPort)
	d.mx = false
	return d, err
}

// parseDestination parses one site; defPort is smtp_tcp_port.
func parseDestination(site string, defPort int) (destination, error) {
	d := destination{site: site, port: defPort, mx: true}
	host, service := site, ""
	if strings.HasPrefix(site, "[") {
		end := strings.IndexByte(site, ']')
		if end < 0 {
			return d, fmt.Errorf("missing \"]\" in server description: %s", site)
		}
		host, d.mx = site[1:end], false
		rest := site[end+1:]
		switch {
		case rest == "":
		case rest[0] == ':':
			service = rest[1:]
		default:
			return d, fmt.Errorf("garbage after \"]\" in server description: %s", site)
		}
	} else if i := strings.LastIndexByte(site, ':'); i >= 0 && strings.Count(site, ":") == 1 {
		host, service = site[:i], site[i+1:]
	}
	host = strings.TrimSuffix(host, ".")
	if len(host) > 5 && strings.EqualFold(host[:5], "ipv6:") {
		host = host[5:]
	}
	if host == "" {
		return d, fmt.Errorf("empty host in server description: %s", site)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		d.literal, d.mx = a.Unmap(), false
	}
	d.host = host
	if service != "" {
		p, err := parsePort(service)
		if err != nil {
			return d, fmt.Errorf("%v for destination: %s", err, site)
		}
		d.port = p
	}
	return d, nil
}

func parsePort(service string) (int, error) {
	if n, err := strconv.Atoi(service); err == nil {
		if n <= 0 || n >= 65536 {
			return 0, fmt.Errorf("bad network port: %s", service)
		}
		return n, nil
	}
	n, err := net.LookupPort("tcp", service)
	if err != nil {
		return 0, fmt.Errorf("unknown service: %s/tcp", service)
	}
	return n, nil
}

// server is one address to connect to.
type server struct {
	host string // MX host name, or the next hop's host
	addr netip.Addr
	port int
	pref int    // MX preference; 0 without MX
	path string // LMTP: a unix-domain socket, as written; addr and port unset
}

// namaddr is "host[addr]", Postfix's session->namaddr; "host[path]" for a
// unix-domain socket.
func (s server) namaddr() string {
	if s.path != "" {
		return s.host + "[" + s.path + "]"
	}
	return s.host + "[" + s.addr.String() + "]"
}

// namaddrport is "host[addr]:port", the maillog relay= value; a socket
// has no port.
func (s server) namaddrport() string {
	if s.path != "" {
		return s.namaddr()
	}
	return s.namaddr() + ":" + strconv.Itoa(s.port)
}
