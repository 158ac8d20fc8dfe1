package dkimsign

import (
	"fmt"
	"path/filepath"
	"strings"
)

// KeyRef is one "selector:keyfile" of a dkim_signing_maps value, File
// made absolute (a relative file is under dkim_key_directory).
type KeyRef struct {
	Selector, File string
}

// ParseValue reads a dkim_signing_maps value: one or two
// "selector:keyfile" separated by a comma or space (two: dual signing,
// one RSA and one Ed25519 key). keyDir is dkim_key_directory.
func ParseValue(value, keyDir string) ([]KeyRef, error) {
	items := strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(items) == 0 {
		return nil, fmt.Errorf("empty value: want SELECTOR:KEYFILE (or two, for an RSA and an Ed25519 key)")
	}
	if len(items) > 2 {
		return nil, fmt.Errorf("%d keys in %q: at most two (one RSA and one Ed25519 key)", len(items), value)
	}
	var refs []KeyRef
	for _, it := range items {
		sel, file, ok := strings.Cut(it, ":")
		if !ok || sel == "" || file == "" {
			return nil, fmt.Errorf("%q is not SELECTOR:KEYFILE", it)
		}
		if !ValidSelector(sel) {
			return nil, fmt.Errorf("bad selector %q: letters, digits, '-', '_' and '.' only", sel)
		}
		if len(refs) == 1 && strings.EqualFold(refs[0].Selector, sel) {
			return nil, fmt.Errorf("selector %s given twice", sel)
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(keyDir, file)
		}
		refs = append(refs, KeyRef{Selector: sel, File: filepath.Clean(file)})
	}
	return refs, nil
}

// ValidSelector accepts a selector (RFC 6376 §3.1: dot-separated DNS
// labels) or a domain name.
func ValidSelector(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
