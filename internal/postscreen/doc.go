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
package postscreen
