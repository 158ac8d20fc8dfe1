package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

// sniMaps serves tls_server_sni_maps: the name a client sends (Server
// Name Indication) is looked up as Postfix does, the name itself, then
// its parent domains with a leading dot (".example.com", ".com"); the
// value lists chain files in smtpd_tls_chain_files' format. Each value's
// certificates are loaded on first use and reload themselves like the
// default ones. An unknown name gets the default certificates, and so
// does an invalid one (as Postfix's valid_hostname judges it), with a
// warning: a long name of many labels would cost a lookup per label.
type sniMaps struct {
	tables []maps.Table
	now    func() time.Time
	mu     sync.Mutex
	stores map[string]*certStore // by value
	warn   func(string)
	info   func(string)
}

// lookup returns the certificates for name, nil when no table has it
// or it is invalid; from names the client in warnings.
func (m *sniMaps) lookup(name, from string) ([]tls.Certificate, error) {
	if name == "" {
		return nil, nil
	}
	host, err := validHostname(name)
	if err != nil {
		m.warn(fmt.Sprintf("TLS SNI from %s is invalid: %v: %s; using the default certificate", from, err, clip(name)))
		return nil, nil
	}
	name = host
	value, found := "", false
	for _, t := range m.tables {
		v, ok, err := maps.LookupDomain(t, name, false)
		if err != nil {
			return nil, fmt.Errorf("tls_server_sni_maps: %s: lookup of %s: %w", t.Name(), name, err)
		}
		if ok {
			value, found = v, true
			break
		}
	}
	if !found {
		return nil, nil
	}
	st, err := m.store(value)
	if err != nil {
		return nil, err
	}
	return st.get(), nil
}

func (m *sniMaps) store(value string) (*certStore, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.stores[value]; ok {
		return st, nil
	}
	st, expired, err := newCertStore(Source{Param: "tls_server_sni_maps", Chain: config.Fields(value)}, m.now)
	if err != nil {
		return nil, err
	}
	if expired != nil {
		m.warn(fmt.Sprintf("tls_server_sni_maps: %v: serving it anyway; renew it", expired))
	}
	st.warn, st.info = m.warn, m.info
	m.stores[value] = st
	return st, nil
}

// Limits of a host name, as Postfix's valid_hostname.
const (
	maxHostname = 255
	maxLabel    = 63
)

// validHostname returns name lower-cased without one trailing dot, or
// why it is not a host name: letters, digits, hyphens (not at a label's
// ends) and underscores in non-empty labels of at most 63 bytes, 255
// bytes in all, not all digits.
func validHostname(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if len(name) > maxHostname {
		return "", fmt.Errorf("%d bytes long, more than %d", len(name), maxHostname)
	}
	if name == "" {
		return "", fmt.Errorf("empty name")
	}
	numeric := true
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return "", fmt.Errorf("an empty label")
		case len(label) > maxLabel:
			return "", fmt.Errorf("a label of %d bytes, more than %d", len(label), maxLabel)
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", fmt.Errorf("a misplaced hyphen")
		}
		for i := 0; i < len(label); i++ {
			switch ch := label[i]; {
			case ch >= '0' && ch <= '9':
			case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch == '-', ch == '_':
				numeric = false
			default:
				return "", fmt.Errorf("invalid character %d (decimal)", ch)
			}
		}
	}
	if numeric {
		return "", fmt.Errorf("a numeric name")
	}
	return strings.ToLower(name), nil
}

// clip quotes a name for a log line, cut to 100 bytes.
func clip(name string) string {
	const max = 100
	if len(name) <= max {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q... (%d bytes)", name[:max], len(name))
}
