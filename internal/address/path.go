package address

import (
	"strings"
	"unicode/utf8"
)

// Options say whose argument is parsed and how strictly.
type Options struct {
	// Rcpt selects RCPT TO: the null path is refused and errors read
	// "501 5.1.3 Bad recipient address syntax"; otherwise MAIL FROM and
	// "501 5.1.7 Bad sender address syntax". It also selects the ESMTP
	// parameters (o.ParseParams).
	Rcpt bool
	// Strict is strict_rfc821_envelopes = yes (default no): the path must
	// be in angle brackets. Either way this parser refuses RFC 822
	// comments and phrases, which only Postfix's lenient mode lets through.
	Strict bool
	// AllowMinUser is allow_min_user (default no): otherwise
	// CheckResolved refuses an address that resolves to one starting
	// with '-', which a command taking addresses as arguments could read
	// as an option (trivial-rewrite's RESOLVE_FLAG_ERROR).
	AllowMinUser bool
}

// ParsePath parses a MAIL FROM argument with default options; see
// Options.ParsePath.
func ParsePath(arg string, smtputf8 bool) (Path, string, error) {
	return Options{}.ParsePath(arg, smtputf8)
}

// ParsePath parses the text after "MAIL FROM:" or "RCPT TO:" and returns
// the path and the rest of the argument (the ESMTP parameters, unparsed,
// leading blanks removed). Accepted, as by Postfix's smtpd:
//
//   - blanks before the path ("MAIL FROM: <a@b>"), and a path without
//     angle brackets unless o.Strict;
//   - "<>" for MAIL; an unqualified local part such as <postmaster> (the
//     resolver qualifies it, so it is always local);
//   - a source route "@a,@b:" before the mailbox, checked and dropped;
//   - quoted local parts with quoted-pairs; unquoted local parts with
//     misplaced dots ("a..b", "a.") as sent by some mobile carriers;
//   - domains by Postfix's valid_hostname() ('_' allowed, all-numeric
//     refused) with one trailing dot; [IPv4] and [IPv6:...] literals;
//   - UTF-8 (RFC 6531) only when smtputf8 is true.
//
// Refused: anything else, and always CR, LF, NUL and other control
// characters. Postfix (tok822) is laxer with junk that no real client
// sends: it takes "a@b@c" unquoted, comments, "<<a@b>>", "@domain" and
// control characters, and reads "<@a:>" or `<"">` as the null sender. None
// of that changes where mail goes, so refusing it costs nothing.
//
// Without smtputf8, a non-ASCII domain is a syntax error (smtpd_check_addr
// refuses it even with strict_smtputf8 = no) and a non-ASCII local part
// gets ErrNeedSMTPUTF8, the reply of strict_smtputf8 = yes. For MAIL FROM
// the SMTPUTF8 keyword follows the path; Options.Parse handles that order.
func (o Options) ParsePath(arg string, smtputf8 bool) (Path, string, error) {
	if !utf8.ValidString(arg) {
		return Path{}, "", errBadUTF8
	}
	s := strings.TrimLeft(arg, " \t")
	if s == "" {
		if o.Rcpt {
			return Path{}, "", errRcptSyntax
		}
		return Path{}, "", errMailSyntax
	}
	bad := syntaxError(o.Rcpt)
	tok, rest, ok := splitPath(s)
	if !ok || (o.Strict && tok[0] != '<') {
		return Path{}, "", bad
	}
	rest = strings.TrimLeft(rest, " \t")
	p := Path{Raw: tok}
	inner := tok
	if tok[0] == '<' {
		inner = tok[1 : len(tok)-1]
		if inner == "" {
			if o.Rcpt {
				return Path{}, "", bad
			}
			p.Null = true
			return p, rest, nil
		}
	}
	a, ok := parseMailbox(inner, smtputf8)
	if !ok {
		return Path{}, "", bad
	}
	if !smtputf8 && !isASCII(a.Local) {
		return Path{}, "", ErrNeedSMTPUTF8
	}
	p.Addr = a
	return p, rest, nil
}

// splitPath cuts the path token off s: "<...>" up to the '>' that is not
// inside a quoted string, or without brackets up to the first blank. The
// token must end there: "<a@b>SIZE=1" is refused, as by Postfix.
func splitPath(s string) (tok, rest string, ok bool) {
	angle := s[0] == '<'
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++ // the quoted-pair's second character is checked later
		case c == '"':
			quoted = !quoted
		case quoted:
		case angle && c == '>':
			tok, rest = s[:i+1], s[i+1:]
			return tok, rest, rest == "" || rest[0] == ' ' || rest[0] == '\t'
		case c == '<' && i > 0, c == '>':
			return "", "", false
		case !angle && (c == ' ' || c == '\t'):
			return s[:i], s[i:], true
		}
	}
	return s, "", !angle && !quoted
}

// parseMailbox parses [A-d-l ":"] Mailbox, or a bare local part.
func parseMailbox(s string, smtputf8 bool) (Address, bool) {
	if strings.HasPrefix(s, "@") {
		route, mbox, ok := strings.Cut(s, ":")
		if !ok || !validRoute(route, smtputf8) {
			return Address{}, false
		}
		s = mbox
	}
	local, rest, ok := parseLocal(s)
	if !ok {
		return Address{}, false
	}
	if rest == "" {
		// Unqualified. `<"">` is refused: Postfix takes it for the null
		// sender, which a caller reading Domain == "" would not expect.
		return Address{Local: local}, local != ""
	}
	domain, ok := strings.CutPrefix(rest, "@")
	if !ok || !validMailDomain(domain, smtputf8) {
		return Address{}, false
	}
	return Address{Local: local, Domain: domain}, true
}

// validRoute checks "@dom1,@dom2" (RFC 5321 A-d-l).
func validRoute(route string, smtputf8 bool) bool {
	for hop := range strings.SplitSeq(route, ",") {
		d, ok := strings.CutPrefix(hop, "@")
		if !ok || !validMailDomain(d, smtputf8) {
			return false
		}
	}
	return true
}

// validMailDomain accepts one trailing dot on a host name, which the
// resolver strips ("user@example.com." is accepted by Postfix), but not
// "..", which stays invalid and is never local.
func validMailDomain(d string, smtputf8 bool) bool {
	if strings.HasPrefix(d, "[") {
		return validLiteral(d)
	}
	return validHostname(strings.TrimSuffix(d, "."), smtputf8)
}

// parseLocal parses a Quoted-string, or a run of atext and dots, and
// returns the unquoted local part and what follows it.
func parseLocal(s string) (local, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexFunc(s, func(r rune) bool { return r != '.' && !isAtext(r) })
		if end < 0 {
			end = len(s)
		}
		return s[:end], s[end:], end > 0
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			return b.String(), s[i+1:], true
		case r == '\\' && i+1 < len(s) && s[i+1] >= 32 && s[i+1] <= 126:
			b.WriteByte(s[i+1]) // RFC 5321 quoted-pairSMTP: %d92 %d32-126
			i += 2
			continue
		case !isQtext(r):
			return "", "", false
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return "", "", false
}

// Parse parses a whole MAIL FROM or RCPT TO argument in smtpd's order:
// path, parameters, then the SMTPUTF8 rule. For MAIL, smtputf8 says
// whether the server offers SMTPUTF8 (smtputf8_enable): the keyword is
// "555 5.5.4 Unsupported option: SMTPUTF8" when it does not, and the path
// may use UTF-8 only when the client sent the keyword. For RCPT, smtputf8
// says whether the transaction's MAIL FROM had it.
func (o Options) Parse(arg string, smtputf8 bool) (Path, []Param, error) {
	p, rest, err := o.ParsePath(arg, true)
	if err != nil {
		return Path{}, nil, err
	}
	params, err := o.ParseParams(rest)
	if err != nil {
		return Path{}, nil, err
	}
	utf8OK := smtputf8
	if !o.Rcpt {
		kw, ok := Lookup(params, "SMTPUTF8")
		if ok && !smtputf8 {
			return Path{}, nil, unsupported(kw.Raw)
		}
		utf8OK = ok
	}
	if !utf8OK && !p.Addr.ASCII() {
		if !isASCII(p.Addr.Domain) {
			return Path{}, nil, syntaxError(o.Rcpt)
		}
		return Path{}, nil, ErrNeedSMTPUTF8
	}
	return p, params, nil
}
