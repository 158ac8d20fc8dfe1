package address

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Param is one ESMTP parameter of MAIL FROM or RCPT TO.
type Param struct {
	Raw     string // as sent, e.g. "size=1000"
	Keyword string // upper case: SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT
	Value   string // the text after '=', as sent; "" for SMTPUTF8
	// Decoded is what Value means: the xtext-decoded ENVID, the decoded
	// ORCPT address, the upper-cased BODY and RET, the canonical NOTIFY
	// list ("NEVER" or a subset of "SUCCESS,FAILURE,DELAY" in that order),
	// the decimal SIZE. AUTH stays raw, as Postfix keeps it.
	Decoded string
	// AddrType is the ORCPT address type as sent ("rfc822", "utf-8").
	AddrType string
	// Size is the SIZE value in bytes; comparing it with
	// message_size_limit (552 5.3.4 Message size exceeds fixed limit) is
	// the session's job.
	Size int64
}

// ParseParams parses ESMTP parameters of either command. It checks each
// keyword's syntax but not whether it belongs to MAIL or RCPT; use
// Options.ParseParams for that. Whether the session offers what a keyword
// asks for (DSN after smtpd_discard_ehlo_keywords: "501 5.7.1 DSN support
// is disabled"; SMTPUTF8: see Options.Parse) is the session's business.
func ParseParams(rest string) ([]Param, error) { return parseParams(rest, true, true) }

// ParseParams parses the parameters of o's command; a keyword of the other
// command is "555 5.5.4 Unsupported option", as in Postfix.
func (o Options) ParseParams(rest string) ([]Param, error) {
	return parseParams(rest, !o.Rcpt, o.Rcpt)
}

// Lookup returns the last parameter with the keyword (upper case): Postfix
// lets a repeated SIZE, BODY or SMTPUTF8 through and the last one counts.
func Lookup(params []Param, keyword string) (Param, bool) {
	for i := len(params) - 1; i >= 0; i-- {
		if params[i].Keyword == keyword {
			return params[i], true
		}
	}
	return Param{}, false
}

// parseParams follows mail_cmd() and rcpt_cmd() in smtpd.c: parameters are
// blank-separated, keywords case-insensitive, the first bad one decides
// the reply. RET, ENVID, AUTH, NOTIFY and ORCPT may appear once; SIZE,
// BODY and SMTPUTF8 may repeat (measured).
func parseParams(rest string, mail, rcpt bool) ([]Param, error) {
	var out []Param
	seen := map[string]bool{}
	for _, tok := range strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' }) {
		kw, val, hasValue := strings.Cut(tok, "=")
		p := Param{Raw: tok, Keyword: strings.ToUpper(kw), Value: val}
		var err *Error
		switch {
		case !hasValue && p.Keyword == "SMTPUTF8" && mail:
		case !hasValue:
			err = unsupported(tok)
		case p.Keyword == "SIZE" && mail:
			err = parseSize(&p)
		case p.Keyword == "BODY" && mail:
			// No BINARYMIME: Postfix does not offer it.
			if p.Decoded = strings.ToUpper(val); p.Decoded != "7BIT" && p.Decoded != "8BITMIME" {
				err = unsupported(tok)
			}
		case p.Keyword == "RET" && mail:
			if p.Decoded = strings.ToUpper(val); seen["RET"] || (p.Decoded != "FULL" && p.Decoded != "HDRS") {
				err = errBadRet
			}
		case p.Keyword == "ENVID" && mail:
			// Postfix requires printable ASCII after decoding (allprint).
			d, ok := xtextDecode(val)
			if p.Decoded = d; seen["ENVID"] || !ok || d == "" || !allPrint(d) {
				err = errBadEnvid
			}
		case p.Keyword == "AUTH" && mail:
			// RFC 4954 xtext or "<>"; Postfix does not decode it and only
			// masks unprintable bytes, so neither do we, but we refuse them.
			if p.Decoded = val; seen["AUTH"] {
				err = errMultipleAuth
			} else if !validText(val) {
				err = unsupported(tok)
			}
		case p.Keyword == "NOTIFY" && rcpt:
			if p.Decoded = notifyList(val); seen["NOTIFY"] || p.Decoded == "" {
				err = errBadNotify
			}
		case p.Keyword == "ORCPT" && rcpt:
			err = parseOrcpt(&p, seen["ORCPT"])
		default:
			err = unsupported(tok)
		}
		if err != nil {
			return nil, err
		}
		seen[p.Keyword] = true
		out = append(out, p)
	}
	return out, nil
}

// parseSize: digits only, no sign (alldig); a value that does not fit
// off_t gets Postfix's 552 rather than a syntax error.
func parseSize(p *Param) *Error {
	if p.Value == "" || strings.Trim(p.Value, "0123456789") != "" {
		return errBadSize
	}
	n, err := strconv.ParseInt(p.Value, 10, 64)
	if err != nil {
		return errSizeOverflow
	}
	p.Size, p.Decoded = n, strconv.FormatInt(n, 10)
	return nil
}

// notifyList returns the canonical NOTIFY value or "" when it is invalid:
// NEVER alone, or any of SUCCESS, FAILURE, DELAY. Like Postfix's
// dsn_notify_mask() it ignores empty items and repeats ("SUCCESS,,DELAY").
func notifyList(v string) string {
	var never, success, failure, delay bool
	for item := range strings.SplitSeq(v, ",") {
		switch strings.ToUpper(item) {
		case "":
		case "NEVER":
			never = true
		case "SUCCESS":
			success = true
		case "FAILURE":
			failure = true
		case "DELAY":
			delay = true
		default:
			return ""
		}
	}
	if never {
		if success || failure || delay {
			return ""
		}
		return "NEVER"
	}
	var list []string
	for _, x := range []struct {
		on   bool
		name string
	}{{success, "SUCCESS"}, {failure, "FAILURE"}, {delay, "DELAY"}} {
		if x.on {
			list = append(list, x.name)
		}
	}
	return strings.Join(list, ",")
}

// parseOrcpt splits "type;xtext" at the first ';' (the address may contain
// more). Postfix keeps whatever the xtext decodes to, CR and LF included,
// and leaves it to the bounce daemon; we refuse control characters here so
// that no caller can copy them into a DSN.
func parseOrcpt(p *Param, dup bool) *Error {
	typ, coded, ok := strings.Cut(p.Value, ";")
	d, decoded := xtextDecode(coded)
	if dup || !ok || typ == "" || !decoded || !validText(typ) || !validText(d) {
		return errBadOrcpt
	}
	p.AddrType, p.Decoded = typ, d
	return nil
}

// xtextDecode undoes RFC 3461 xtext: "+" and two hex digits stand for a
// byte. Like Postfix's xtext_unquote() it accepts lower-case hex and
// leaves other characters alone; callers check the result.
func xtextDecode(s string) (string, bool) {
	if !strings.Contains(s, "+") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// allPrint is Postfix's allprint(): printable ASCII and space only.
func allPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validText is valid UTF-8 without control characters.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) }
