// Package sendlimit limits the mail each sender may send (postern-only,
// beyond Postfix): per SASL user, per sender domain and per local uid,
// a number of messages and of recipients per time unit, configured by
// a lookup table (sender_rate_limit_maps).
//
// A message is counted under one key: the first of these that the
// tables have (the first table that has a key decides its value):
//
//  1. who sends, which the client cannot choose: the SASL login of an
//     authenticated SMTP client; "client:ADDR" for a $mynetworks SMTP
//     client that did not authenticate (an IPv6 client by its /64
//     network, "client:2001:db8:1:2::/64", as anvil counts it); "uid:N"
//     for a local submission (sendmail, counted by pickup);
//  2. the sender's domain in lower case, or "<>" for the null sender
//     (as Postfix's smtpd_null_access_lookup_key);
//  3. "*", the catch-all: one budget shared by every sender that no
//     other key finds. Without it, such a sender (any domain the table
//     does not name, or <>) is not limited, so postern check warns.
//
// A domain that could pass for another kind of key ("*", "uid:0") is
// not looked up: it counts under the catch-all.
//
// A table value is a list of rules separated by commas or spaces:
//
//	100/1h, 1000rcpt/1d, 10/m
//
// "N/T" allows N messages per T, "Nrcpt/T" N recipients per T; T is a
// count and a unit (s, m, h, d; the count defaults to 1). Each rule has
// its own fixed window, which opens at the first event it counts and
// lasts T; more than N at once (a message with more recipients) is
// always over the rule. pickup counts a message and its recipients
// together, all or nothing. The counts live in memory only: a restart
// resets them.
package sendlimit
