package aliases

import "strings"

// The RFC 822 tokenizer of Postfix's tok822_scan(), which postalias uses
// to split "name: value" and local(8) uses to split a value into
// destinations. Following it token for token matters: it decides where
// one destination ends ("a b" is two, `"|cmd arg"` is one), what a quoted
// name means, and how the stored value is spelled.

// Token types besides the single-character operators, which are their
// own byte value.
const (
	tokAtom = 256 + iota
	tokQString
	tokComment
	tokDomLit
)

// opChars are tok822's operators: RFC 822 specials plus | % !.
const opChars = "|%!()<>@,;:\\\".[]"

type token struct {
	typ  int
	text string // unquoted text; comments keep their parentheses
}

func isSpaceTabCRLF(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isOp(c byte) bool { return strings.IndexByte(opChars, c) >= 0 }

// scan splits s into tokens as tok822_scan() does.
func scan(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpaceTabCRLF(c):
			i++
		case c == '(':
			text, n := scanComment(s[i:])
			toks = append(toks, token{tokComment, text})
			i += n
		case c == '[' || c == '"':
			end := byte(']')
			typ := tokDomLit
			if c == '"' {
				end, typ = '"', tokQString
			}
			text, n := collect(s[i+1:], func(b byte) bool { return b != end })
			i += 1 + n
			if i < len(s) { // the closing delimiter
				i++
			}
			toks = append(toks, token{typ, text})
		case c != '\\' && isOp(c):
			toks = append(toks, token{typ: int(c)})
			i++
		default:
			text, n := collect(s[i:], func(b byte) bool { return !isSpaceTabCRLF(b) && !isOp(b) })
			i += n
			toks = append(toks, token{atomType(text), text})
		}
	}
	return toks
}

// collect is tok822's COLLECT: take bytes while ok, a backslash taking
// the next byte whatever it is; white space becomes a plain space. It
// returns the text and the number of input bytes used.
func collect(s string, ok func(byte) bool) (string, int) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			if i+1 == len(s) {
				i++
				break
			}
			i++
			c = s[i]
		} else if !ok(c) {
			break
		}
		if isSpaceTabCRLF(c) {
			c = ' '
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), i
}

// scanComment reads a possibly nested comment starting at s[0] == '(' and
// returns it verbatim, parentheses included, as tok822 stores comments.
func scanComment(s string) (string, int) {
	level := 0
	i := 0
	for i < len(s) {
		c := s[i]
		i++
		switch c {
		case '(':
			level++
		case ')':
			if level--; level == 0 {
				return s[:i], i
			}
		case '\\':
			if i < len(s) {
				i++
			}
		}
	}
	return s, len(s)
}

// atomType is tok822_quote_atom: an atom that holds a space, a control
// character or an operator (all of which need a backslash) is a quoted
// string from then on.
func atomType(text string) int {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c == ' ' || c < ' ' || c == 0x7f || isOp(c) {
			return tokQString
		}
	}
	return tokAtom
}

// endsPhrase reports whether t ends the display name before "<addr>".
func endsPhrase(t token) bool {
	return t.typ == '>' || t.typ == ';' || t.typ == ',' || t.typ == ':'
}

func isWord(t token) bool {
	return t.typ == tokAtom || t.typ == tokQString || t.typ == tokDomLit
}

func isNonOperator(t token) bool { return isWord(t) || t.typ == tokComment }

// spaceAfter is tok822_append_space for a flat token list.
func spaceAfter(toks []token, i int) bool {
	if i+1 >= len(toks) {
		return false
	}
	if toks[i].typ == ',' || toks[i+1].typ == '<' {
		return true
	}
	return isNonOperator(toks[i]) && isNonOperator(toks[i+1])
}

// internalize is tok822_internalize: the tokens as text, unquoted.
func internalize(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		switch t.typ {
		case tokAtom, tokQString, tokComment:
			b.WriteString(t.text)
		case tokDomLit:
			b.WriteString("[" + t.text + "]")
		default:
			b.WriteByte(byte(t.typ))
		}
		if spaceAfter(toks, i) {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// externalize is tok822_externalize: the tokens as text that scan reads
// back the same, quoted strings and domain literals escaped.
func externalize(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		switch t.typ {
		case tokAtom, tokComment:
			b.WriteString(t.text)
		case tokQString:
			b.WriteByte('"')
			copyQuoted(&b, t.text, "\"\\\r\n")
			b.WriteByte('"')
		case tokDomLit:
			b.WriteByte('[')
			copyQuoted(&b, t.text, "\\\r\n")
			b.WriteByte(']')
		default:
			b.WriteByte(byte(t.typ))
		}
		if spaceAfter(toks, i) {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func copyQuoted(b *strings.Builder, s, special string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// splitAddresses groups tokens into addresses as tok822_parse() does and
// returns each address in internal form, which is what local(8) delivers
// to: a comma ends an address, so does a word directly followed by another
// word (Postfix inserts the missing comma), "phrase <addr>" is addr, and a
// group "name: a, b;" is a and b. Comments are dropped.
func splitAddresses(s string) []string {
	toks := scan(s)
	var rev []string
	emit := func(lo, hi int) {
		var addr []token
		for _, t := range toks[lo:hi] {
			if t.typ != tokComment {
				addr = append(addr, t)
			}
		}
		if len(addr) > 0 {
			rev = append(rev, internalize(addr))
		}
	}
	// Right to left, as tok822_parse: right is the end of the address
	// being collected.
	right, word, group := len(toks), true, false
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		switch {
		case t.typ == tokComment:
		case t.typ == ';':
			emit(i+1, right)
			right, word, group = i, true, true
		case t.typ == ':' && group:
			// The group's display name, back to the previous address,
			// is not an address.
			emit(i+1, right)
			for i > 0 && toks[i-1].typ != ',' {
				i--
			}
			right, word = i, true
		case t.typ == '>':
			emit(i+1, right)
			lt := i - 1
			for lt >= 0 && toks[lt].typ != '<' {
				lt--
			}
			emit(lt+1, i)
			// Skip the phrase before '<'.
			j := lt - 1
			for j >= 0 && !endsPhrase(toks[j]) {
				j--
			}
			right, word = j+1, true
			i = j + 1
		case isWord(t):
			if !word {
				emit(i+1, right)
				right = i + 1
			}
			word = false
		case t.typ == ',':
			emit(i+1, right)
			right, word = i, true
		default:
			word = true
		}
	}
	emit(0, right)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
