package dkimsign

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Status is what the DNS says about a key (`postern dkim check`).
type Status int

const (
	// Matches: the published record holds the key.
	Matches Status = iota
	// Differs: a record is published, with another key (or revoked, or
	// unreadable).
	Differs
	// NotPublished: no DKIM record at SEL._domainkey.DOMAIN.
	NotPublished
	// DNSError: the lookup failed; nothing is known.
	DNSError
)

func (s Status) String() string {
	return [...]string{"matches", "published key differs", "not published", "DNS error"}[s]
}

// Published is the outcome of looking up one key's record.
type Published struct {
	Name   string // SEL._domainkey.DOMAIN
	Status Status
	Detail string // why, for Differs and DNSError
}

// LookupTimeout bounds one record's lookup.
const LookupTimeout = 10 * time.Second

// CheckPublished looks up selector's record for domain with r and
// compares it with pub.
func CheckPublished(ctx context.Context, r *net.Resolver, domain, selector string, pub crypto.PublicKey) Published {
	p := Published{Name: selector + "._domainkey." + strings.TrimSuffix(domain, ".")}
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	txts, err := r.LookupTXT(ctx, p.Name+".")
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		p.Status = NotPublished
		return p
	case err != nil:
		p.Status, p.Detail = DNSError, err.Error()
		return p
	}
	var problems []string
	for _, txt := range txts {
		err := MatchRecord(txt, pub)
		if err == nil {
			p.Status = Matches
			return p
		}
		if !errors.Is(err, errNotDKIM) {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		p.Status = NotPublished
		if len(txts) > 0 {
			p.Detail = "the TXT records there are not DKIM keys"
		}
		return p
	}
	p.Status, p.Detail = Differs, strings.Join(problems, "; ")
	return p
}

var errNotDKIM = errors.New("not a DKIM key record")

// MatchRecord reports (nil) whether a DKIM key record (RFC 6376 §3.6.1:
// "v=DKIM1; k=rsa; p=...") publishes pub, else says how it differs.
func MatchRecord(record string, pub crypto.PublicKey) error {
	tags := map[string]string{}
	for i, part := range strings.Split(record, ";") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok {
			if k == "" {
				continue
			}
			return fmt.Errorf("malformed record: %q is not TAG=VALUE", strings.TrimSpace(part))
		}
		v = strings.Join(strings.Fields(v), "")
		if k == "v" && (i != 0 || v != "DKIM1") {
			return errNotDKIM
		}
		tags[k] = v
	}
	p, ok := tags["p"]
	if !ok {
		return errNotDKIM
	}
	if p == "" {
		return errors.New("the key is revoked (empty p=)")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return fmt.Errorf("p= is not base64: %v", err)
	}
	k := tags["k"]
	if k == "" {
		k = "rsa"
	}
	var published crypto.PublicKey
	switch k {
	case "rsa":
		if key, err := x509.ParsePKIXPublicKey(der); err == nil {
			published = key
		} else if key, err := x509.ParsePKCS1PublicKey(der); err == nil {
			published = key
		} else {
			return errors.New("p= holds no RSA public key")
		}
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return fmt.Errorf("p= holds %d bytes, an Ed25519 key is %d", len(der), ed25519.PublicKeySize)
		}
		published = ed25519.PublicKey(der)
	default:
		return fmt.Errorf("unknown key type k=%s", k)
	}
	want, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return fmt.Errorf("unsupported key %T", pub)
	}
	if !want.Equal(published) {
		switch pub.(type) {
		case *rsa.PublicKey:
			if k != "rsa" {
				return fmt.Errorf("the record is for a k=%s key, the key file holds an RSA key", k)
			}
		case ed25519.PublicKey:
			if k != "ed25519" {
				return fmt.Errorf("the record is for a k=%s key, the key file holds an Ed25519 key", k)
			}
		}
		return errors.New("the record holds another key")
	}
	return nil
}
