// Package resolver gives postern's own DNS lookups (mail authentication
// checks, postern dkim check) their resolver: the system's, as
// /etc/resolv.conf says, unless the environment variable
// POSTERN_DNS_SERVER names one server (host:port, UDP with TCP for
// truncated answers). The end-to-end tests point it at internal/dnstest;
// an administrator may point it at a local validating resolver.
package resolver

import (
	"context"
	"net"
	"os"
)

// Env is the environment variable that names the DNS server.
const Env = "POSTERN_DNS_SERVER"

// New returns the resolver to use: net.DefaultResolver, or one that
// sends every query to $POSTERN_DNS_SERVER.
func New() *net.Resolver {
	addr := os.Getenv(Env)
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}
