// Package sendlimit limits the mail each sender may send (postern-only,
// beyond Postfix): per SASL user, per sender domain and per local uid,
// a number of messages and of recipients per time unit, configured by
// a lookup table (sender_rate_limit_maps).
//
// A table value is a list of rules separated by commas or spaces:
//
//	100/1h, 1000rcpt/1d, 10/m
//
// "N/T" allows N messages per T, "Nrcpt/T" N recipients per T; T is a
// count and a unit (s, m, h, d; the count defaults to 1). Each rule has
// its own fixed window, which opens at the first event it counts and
// lasts T. The counts live in memory only: a restart resets them.
package sendlimit
