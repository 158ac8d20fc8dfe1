package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

// Source names the files of one certificate set and the parameter that
// named them: a smtpd_tls_chain_files list (or a tls_server_sni_maps
// value), or the legacy cert/key pairs.
type Source struct {
	Param string   // the parameter to blame in messages
	Chain []string // chain files: keys each followed by their chain
	Pairs []Pair   // legacy cert/key pairs, used without Chain
}

// Pair is one legacy certificate file and its key file.
type Pair struct{ CertParam, Cert, KeyParam, Key string }

// Files lists every file of the source, in order.
func (s Source) Files() []string {
	files := append([]string(nil), s.Chain...)
	for _, p := range s.Pairs {
		files = append(files, p.Cert, p.Key)
	}
	return files
}

// Empty reports whether the source names no file.
func (s Source) Empty() bool { return len(s.Chain) == 0 && len(s.Pairs) == 0 }

// Load reads the certificates of s. Each has its Leaf parsed; a key that
// does not match its certificate, a certificate without a key (or the
// reverse) and an unreadable file are errors. Expiry is not checked here
// (see Expired).
func (s Source) Load() ([]tls.Certificate, error) {
	if len(s.Chain) > 0 {
		return loadChain(s.Param, s.Chain)
	}
	var certs []tls.Certificate
	for _, p := range s.Pairs {
		certPEM, err := os.ReadFile(p.Cert)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertParam, err)
		}
		keyPEM, err := os.ReadFile(p.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.KeyParam, err)
		}
		if err := complete(certPEM); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p.CertParam, p.Cert, err)
		}
		if err := complete(keyPEM); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p.KeyParam, p.Key, err)
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s %s with %s %s: %w", p.CertParam, p.Cert, p.KeyParam, p.Key, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// loadChain reads Postfix's chain file format: the PEM blocks of all the
// files, in order, are private keys each directly followed by its
// certificate chain (the leaf first). A key and its chain may be in
// separate files, listed key first.
func loadChain(param string, files []string) ([]tls.Certificate, error) {
	var certs []tls.Certificate
	var keyPEM []byte
	var chainPEM []byte
	var keyFile string
	flush := func() error {
		if keyPEM == nil {
			return nil
		}
		if chainPEM == nil {
			return fmt.Errorf("%s: %s: a private key without a certificate after it", param, keyFile)
		}
		c, err := tls.X509KeyPair(chainPEM, keyPEM)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", param, keyFile, err)
		}
		certs = append(certs, c)
		keyPEM, chainPEM = nil, nil
		return nil
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", param, err)
		}
		if err := complete(data); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", param, f, err)
		}
		found := false
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			found = true
			switch {
			case strings.HasSuffix(b.Type, "PRIVATE KEY"):
				if err := flush(); err != nil {
					return nil, err
				}
				keyPEM, keyFile = pem.EncodeToMemory(b), f
			case b.Type == "CERTIFICATE":
				if keyPEM == nil {
					return nil, fmt.Errorf("%s: %s: a certificate before its private key (each key must come first, then its chain)", param, f)
				}
				chainPEM = append(chainPEM, pem.EncodeToMemory(b)...)
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: %s: no PEM data (is the file complete?)", param, f)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no private key and certificate found", param)
	}
	return certs, nil
}

// complete returns an error for PEM data that is cut short or damaged:
// a block that begins and does not decode (no END line, bad base64), or
// a last line that is the start of a BEGIN line. A file rewritten in
// place may be read half written; crypto/tls and encoding/pem would
// skip the broken block and serve the key and leaf without the rest of
// the chain. Text outside the blocks (comments) is allowed, as OpenSSL
// allows it.
func complete(data []byte) error {
	begins := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("-----BEGIN")) {
			begins++
		}
	}
	blocks := 0
	for rest := data; ; blocks++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
	}
	if begins > blocks {
		return fmt.Errorf("%d of its %d PEM blocks do not decode (is the file complete?)", begins-blocks, begins)
	}
	trimmed := bytes.TrimRight(data, " \t\r\n")
	last := trimmed[bytes.LastIndexByte(trimmed, '\n')+1:]
	if len(last) > 0 && strings.HasPrefix("-----BEGIN ", string(last)) {
		return fmt.Errorf("it ends in the start of a PEM block %q (is the file complete?)", last)
	}
	return nil
}

// Expired returns an error for the first certificate past its NotAfter.
func Expired(certs []tls.Certificate, now time.Time) error {
	for _, c := range certs {
		if c.Leaf != nil && now.After(c.Leaf.NotAfter) {
			return fmt.Errorf("certificate %s expired on %s", Subject(c.Leaf), c.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Subject names a certificate in messages: its first DNS name, else its
// subject common name.
func Subject(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}
