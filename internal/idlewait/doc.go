// Package idlewait waits until a connection has input without reading
// it and without a buffer, so that a server's session that is idle
// between commands can lend its read and write buffers back (to a
// sync.Pool) while it waits: with thousands of sessions held open by
// their clients, the buffers are most of what each one costs.
//
// The wait costs what a read costs: the first look is one recv with
// MSG_PEEK|MSG_DONTWAIT of one byte instead of the read that would find
// nothing; then the goroutine parks in the runtime's network poller
// until the socket is readable, under the connection's read deadline,
// and comes back without another system call. Only a connection that is
// the socket itself can be waited on this way (*net.TCPConn, *net.UnixConn):
// a wrapper that holds bytes of its own (crypto/tls, a replay of
// bytes read earlier) could have input that the socket does not show.
package idlewait
