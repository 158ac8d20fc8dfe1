// Package supervise keeps postern's root local delivery agent running.
//
// The daemon drops root for mail_owner once its sockets are bound, so it
// cannot start a root process again later; local delivery must run as
// root (see internal/deliver/proxy). So the daemon, while still root,
// starts a small root supervisor (Run, "postern local-agent"), which
// starts the worker that delivers ("postern local-agent -worker") and
// starts it again whenever it exits, with Backoff between attempts.
//
// Each worker talks to the daemon on a socket pair of its own: the
// supervisor makes the pair, gives one end to the worker as fd 3 and
// passes the other end to the daemon (SCM_RIGHTS) over the control socket
// it shares with the daemon, a SOCK_SEQPACKET pair made at daemon start,
// with a small JSON event ("started" with the worker's pid, "exited" with
// its wait status and the delay before the next start, "failed").
// Watch, in the daemon, logs the events, counts the restarts for
// `postern status` and hands each new connection to the proxy client.
//
// Privilege separation: the supervisor reads nothing from the daemon (it
// only notices that the control socket closed) and never execs anything
// but the same worker, so a compromised mail_owner daemon can at most
// kill the worker it talks to, which it could always stop serving anyway.
//
// Lifetime: the supervisor dies with the daemon (the daemon starts it
// with the parent-death signal SIGKILL, and it stops restarting once the
// control socket closes), the worker dies with the supervisor (same
// signal, set from one OS thread that never exits, as the signal follows
// the thread that forked). Both ignore SIGTERM, SIGINT and SIGHUP sent to
// the whole process group (systemd, Ctrl-C): the daemon alone decides
// when they end, after the deliveries under way.
package supervise
