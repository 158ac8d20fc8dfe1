package mailauth

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// maxSignatures bounds the DKIM signatures verified per message (each
// costs a DNS lookup and an RSA verification); later ones are ignored.
const maxSignatures = 8

// DKIMResult is the verification of one DKIM-Signature field.
type DKIMResult struct {
	// Result: pass, fail, neutral, temperror, permerror (RFC 8601
	// section 2.7.1).
	Result string
	// Domain, Selector, Identity, Algorithm: the d=, s=, i= and a= tags.
	Domain, Selector, Identity, Algorithm string
	// B: the start of the b= tag (RFC 6008's header.b, 8 characters or
	// more to tell signatures of one domain apart).
	B string
	// Problem says why it did not pass.
	Problem string
}

// verifyDKIM verifies every signature of content (up to maxSignatures),
// in header order; a message without signatures has no result.
//
// Verification is github.com/emersion/go-msgauth/dkim's (v0.7.0), given
// a LookupTXT through our cached resolver under a deadline: it does the
// canonicalizations, rsa-sha256 and ed25519-sha256 (RFC 8463), refuses
// rsa-sha1 (RFC 8301) and l=, checks x=, and tells temporary from
// permanent failures, which is what the checks need; postern's own
// internal/dkim only signs.
func (c *Checker) verifyDKIM(ctx context.Context, content io.Reader, sigs []string) ([]DKIMResult, error) {
	if len(sigs) == 0 {
		return nil, nil
	}
	opts := &dkim.VerifyOptions{
		MaxVerifications: maxSignatures,
		LookupTXT: func(name string) ([]string, error) {
			lctx, cancel := context.WithTimeout(ctx, c.lookupTimeout())
			defer cancel()
			return c.cfg.Resolver.LookupTXT(lctx, strings.TrimSuffix(name, ".")+".")
		},
	}
	rd := &errReader{r: content}
	verifs, err := dkim.VerifyWithOptions(rd, opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		if rd.err != nil {
			return nil, rd.err // ours: the held content could not be read
		}
		// The message is not what the verifier can read (a header
		// without the empty line that ends it, say): a permanent
		// error of each signature (RFC 6376 section 6.1), never a
		// reason to defer the message.
		return unreadable(sigs, err), nil
	}
	var out []DKIMResult
	for i, v := range verifs {
		if i >= len(sigs) {
			break
		}
		tags := tagList(sigs[i])
		r := DKIMResult{Domain: v.Domain, Selector: tags["s"], Algorithm: tags["a"], Identity: tags["i"]}
		if r.Domain == "" {
			r.Domain = tags["d"]
		}
		if b := tags["b"]; len(b) > 8 {
			r.B = b[:8]
		} else {
			r.B = b
		}
		switch {
		case v.Err == nil:
			r.Result = "pass"
		case dkim.IsTempFail(v.Err):
			r.Result = "temperror"
		case dkim.IsPermFail(v.Err):
			r.Result = "permerror"
		default:
			r.Result = "fail"
		}
		if v.Err != nil {
			r.Problem = strings.TrimPrefix(v.Err.Error(), "dkim: ")
		}
		out = append(out, r)
	}
	return out, nil
}

// unreadable is a permerror result for each signature (up to
// maxSignatures) of a message the verifier could not read.
func unreadable(sigs []string, err error) []DKIMResult {
	var out []DKIMResult
	for i, sig := range sigs {
		if i >= maxSignatures {
			break
		}
		tags := tagList(sig)
		r := DKIMResult{Result: "permerror", Domain: tags["d"], Selector: tags["s"], Algorithm: tags["a"],
			Identity: tags["i"], B: tags["b"], Problem: "message not verifiable: " + strings.TrimPrefix(err.Error(), "dkim: ")}
		if len(r.B) > 8 {
			r.B = r.B[:8]
		}
		out = append(out, r)
	}
	return out
}

// errReader remembers the error of the reader under it, telling our own
// read failures (the spool) from what the verifier makes of the content.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// tagList reads a DKIM tag=value list (RFC 6376 section 3.2) for
// reporting: names and values with all whitespace removed; the first
// occurrence of a tag counts.
func tagList(v string) map[string]string {
	tags := map[string]string{}
	for _, t := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := tags[k]; dup {
			continue
		}
		tags[k] = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, val)
	}
	return tags
}
