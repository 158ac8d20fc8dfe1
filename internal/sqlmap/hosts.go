package sqlmap

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// endpoint is one entry of "hosts".
type endpoint struct {
	unix bool   // a unix-domain socket: path is set
	path string // pgsql: the socket directory; mysql: the socket file
	host string
	port int
	uri  string // pgsql: a postgresql:// URI (user, password, dbname inside)
}

// label names the endpoint in logs: never a password.
func (e endpoint) label() string {
	switch {
	case e.uri != "":
		u, err := url.Parse(e.uri)
		if err != nil {
			return "postgresql://(unparsable URI)"
		}
		return "postgresql://" + u.Host + u.Path
	case e.unix:
		return "unix:" + e.path
	}
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

// mysqlDefaultSocket is where libmysqlclient on Debian finds the server
// when the host is "localhost".
const mysqlDefaultSocket = "/run/mysqld/mysqld.sock"

func isURI(h string) bool {
	return strings.HasPrefix(h, "postgresql://") || strings.HasPrefix(h, "postgres://")
}

func allURIs(hosts []string) bool {
	for _, h := range hosts {
		if !isURI(h) {
			return false
		}
	}
	return len(hosts) > 0
}

// parseHost reads one "hosts" entry as Postfix does: unix:/path,
// inet:host[:port], host[:port], and for pgsql a connection URI. MySQL's
// client library takes "localhost" to mean its unix socket; so does this.
func parseHost(typ, h string) (endpoint, error) {
	port := 5432
	if typ == "mysql" {
		port = 3306
	}
	if typ == "pgsql" && isURI(h) {
		if _, err := url.Parse(h); err != nil {
			return endpoint{}, errors.New("not a valid connection URI")
		}
		return endpoint{uri: h}, nil
	}
	if p, ok := strings.CutPrefix(h, "unix:"); ok {
		if !strings.HasPrefix(p, "/") {
			return endpoint{}, errors.New("a unix socket must be an absolute path")
		}
		return endpoint{unix: true, path: p, port: port}, nil
	}
	h = strings.TrimPrefix(h, "inet:")
	host, portStr := h, ""
	if strings.HasPrefix(h, "[") {
		var err error
		if host, portStr, err = net.SplitHostPort(h); err != nil {
			if !strings.HasSuffix(h, "]") {
				return endpoint{}, err
			}
			host, portStr = strings.Trim(h, "[]"), ""
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		host, portStr = h[:i], h[i+1:]
	}
	if host == "" {
		return endpoint{}, errors.New("no host name")
	}
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return endpoint{}, errors.New("bad port")
		}
		port = n
	}
	if typ == "mysql" && host == "localhost" {
		return endpoint{unix: true, path: mysqlDefaultSocket}, nil
	}
	return endpoint{host: host, port: port}, nil
}

func checkHost(typ, h string) error {
	_, err := parseHost(typ, h)
	return err
}
