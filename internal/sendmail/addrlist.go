package sendmail

import (
	"strings"

	"github.com/postern-mta/postern/internal/address"
)

// token is one lexical item of an RFC 5322 address list.
type token struct {
	kind byte   // 'a' atom, 'q' quoted string, or the special itself: < > @ , ; :
	text string // for atoms and quoted strings (unquoted)
}

// tokenize splits an address list as Postfix's tok822 does, leniently:
// comments disappear, quoted strings lose their quotes and quoted-pairs,
// a domain literal is one atom, unbalanced quotes or brackets end at the
// end of the text.
func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
				} else if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					if depth--; depth == 0 {
						i++
						break
					}
				}
			}
		case c == '"':
			var b strings.Builder
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			i++
			toks = append(toks, token{'q', b.String()})
		case strings.IndexByte("<>@,;:", c) >= 0:
			toks = append(toks, token{kind: c})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\"<>@,;:", rune(s[j])) {
				if s[j] == '[' {
					if k := strings.IndexByte(s[j:], ']'); k > 0 {
						j += k
					}
				}
				j++
			}
			toks = append(toks, token{'a', s[i:j]})
			i = j
		}
	}
	return toks
}

// AddressList returns the addresses in an RFC 5322 address list (a To:
// header's value, a sendmail command-line argument), in the envelope's
// SMTP form: "Name <a@b>, c@d" gives a@b and c@d; group names and display
// names are dropped, a source route is removed, and a local part that
// needs quotes gets them. Unqualified names ("root") stay unqualified.
func AddressList(s string) []string {
	var out []string
	var cur []token
	flush := func() {
		if a := mailbox(cur); a != "" {
			out = append(out, a)
		}
		cur = cur[:0]
	}
	depth := 0
	for _, t := range tokenize(s) {
		switch {
		case t.kind == '<':
			depth++
		case t.kind == '>' && depth > 0:
			depth--
		case depth > 0:
		case t.kind == ',' || t.kind == ';':
			flush()
			continue
		case t.kind == ':' && isPhrase(cur):
			cur = cur[:0] // "group name:" starts a group
			continue
		}
		cur = append(cur, t)
	}
	flush()
	return out
}

func isPhrase(toks []token) bool {
	for _, t := range toks {
		if t.kind != 'a' && t.kind != 'q' {
			return false
		}
	}
	return len(toks) > 0
}

// mailbox turns the tokens of one list element into an address: what is
// inside the angle brackets if there are any, else all of it.
func mailbox(toks []token) string {
	for i, t := range toks {
		if t.kind == '<' {
			end := len(toks)
			for j := i + 1; j < len(toks); j++ {
				if toks[j].kind == '>' {
					end = j
					break
				}
			}
			toks = toks[i+1 : end]
			break
		}
	}
	// A source route "@a,@b:" before the mailbox goes, as in RFC 5321.
	if len(toks) > 0 && toks[0].kind == '@' {
		for i, t := range toks {
			if t.kind == ':' {
				toks = toks[i+1:]
				break
			}
		}
	}
	at := -1 // the last '@' separates the domain: "a@b"@c is a@b at c
	for i, t := range toks {
		if t.kind == '@' {
			at = i
		}
	}
	local, domain := join(toks), ""
	if at >= 0 {
		local, domain = join(toks[:at]), join(toks[at+1:])
	}
	if local == "" && domain == "" {
		return "" // <>
	}
	if at >= 0 && domain == "" {
		return local + "@" // kept invalid, for the caller's syntax check to refuse
	}
	return address.Address{Local: local, Domain: domain}.String()
}

// join concatenates tokens; words that follow each other without a dot
// keep a blank between them ("John Doe" without brackets becomes one odd
// local part, as tok822 makes it).
func join(toks []token) string {
	var b strings.Builder
	prevWord := false
	for _, t := range toks {
		word := t.kind == 'a' || t.kind == 'q'
		if word && prevWord && !strings.HasSuffix(b.String(), ".") && !strings.HasPrefix(t.text, ".") {
			b.WriteByte(' ')
		}
		if word {
			b.WriteString(t.text)
		} else {
			b.WriteByte(t.kind)
		}
		prevWord = word
	}
	return b.String()
}
