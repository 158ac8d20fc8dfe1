// Package postscreen is postern's postscreen(8): the triage a master.cf
// `postscreen` service runs on each connection before it reaches smtpd.
//
// A Screen logs `CONNECT from [addr]:port to [addr]:port`, consults
// postscreen_access_list (permit_mynetworks and type:table lookups:
// ALLOWLISTED clients pass at once, DENYLISTED ones meet
// postscreen_blacklist_action), then a client whose every enabled test
// still has a valid pass in the temporary allowlist (Cache: one Record
// of per-test expiry times per client) passes at once (`PASS OLD`).
// Others run the tests whose pass expired: before the SMTP handshake the
// pregreet test (postscreen_greet_banner as a "220-" line, then
// postscreen_greet_wait during which a client that speaks is logged
// `PREGREET 11 after 0.1 from [addr]:port: EHLO foo\r\n`) and the DNSBL
// test (dnsbl.go); after it the deep protocol tests (deep.go:
// pipelining, non-SMTP command, bare newline), which postscreen's own
// dummy SMTP engine runs (engine.go, Postfix's postscreen_smtpd.c).
//
// A failed test meets its action: "drop" answers 521 and closes;
// "enforce" sends the client to the engine, which rejects every RCPT
// with 550 and logs it as Postfix's NOQUEUE lines; "ignore" lets it go
// on (a deep test then counts as passed for the shortest test lifetime).
// A client that must run the deep tests talks to the engine, never to
// smtpd, in that session: it gets "450 4.3.2 Service currently
// unavailable" at RCPT, is cached (`PASS NEW`) once it got that far
// without a fault, and reaches smtpd when it comes back.
//
// Check returns the connection to hand to smtpd in the same process (no
// second TCP handshake): bytes read during the greet wait are replayed.
//
// The temporary allowlist (cache.go, cachemap.go, cachefile.go) is
// postscreen_cache_map. Its map types btree:, lmdb:, hash: and cdb:
// (after an optional proxy:) all name one file of postern's own, the
// map's path plus ".postern" (postern cannot read Postfix's databases);
// other types (memcache:) are refused, and an empty value is no cache,
// as in Postfix. The records in memory are the authority: a lookup
// never touches the disk. Put queues a text line that a writer
// goroutine appends to the file, off the connection path and without
// fsync. At start the file is loaded and compacted (written anew from
// memory without the records expired for longer than
// postscreen_cache_retention_time: temporary file, fsync, rename), and
// again every postscreen_cache_cleanup_interval (0: never), logged as
// Postfix's "cache btree:/… full cleanup: retained=N dropped=N
// entries". A crash (of the machine: the kernel has what the process
// wrote) loses at most the last records, and a damaged line (the last
// one cut short) is skipped with a warning: either only means that a
// client is tested again. The file is created mode 0600 by the daemon
// after it dropped privileges, and one that is a symbolic link, not a
// regular file or not the daemon user's is refused.
package postscreen
