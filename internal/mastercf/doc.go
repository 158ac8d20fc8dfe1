// Package mastercf reads, checks and prints master.cf, the Postfix service
// table: one line per service with the columns service, type, private,
// unpriv, chroot, wakeup, maxproc and command + arguments (master(5),
// ../shared/postfix-spec.md §7.1).
//
// Parsing follows postconf(1), not the master daemon: columns are split on
// blanks, `{ ... }` groups text with blanks into one argument, and
// `-oname=value`, `-vo name=value` and `-o { name = value }` are brought into
// the canonical `-o` `name=value` form. Keeping postconf's normalisation
// lets the printers reproduce `postconf -M`, `-Mf`, `-F` and `-P` byte for
// byte, so scripts written against Postfix keep working.
//
// Unlike postconf, Parse never stops at the first bad line, and it also
// reports what Postfix only finds when the master daemon starts (an inet
// service marked private, a bad host:port, an unknown port name, two
// services listening on the same address). Every problem is a config.Diag
// naming the file, the line and the service.
//
// Edit changes the file as `postconf -Me/-MX/-M#/-Fe/-Pe/-PX` do: only
// the entries a request names are rewritten, in the -Mf layout, and every
// other byte stays. PostfixEntry and PostfixCheck read entries with
// postconf's strictness and messages (the first bad entry is fatal), for
// `postern conf`, which must fail where postconf fails.
//
// Service.Settings gives the parameters an smtpd service runs with:
// main.cf overridden by its -o options, expanded as Postfix's daemons
// expand them.
package mastercf
