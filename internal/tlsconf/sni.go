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
// default ones. An unknown name gets the default certificates.
type sniMaps struct {
	tables []maps.Table
	now    func() time.Time
	mu     sync.Mutex
	stores map[string]*certStore // by value
	warn   func(string)
	info   func(string)
}

// lookup returns the certificates for name, nil when no table has it.
func (m *sniMaps) lookup(name string) ([]tls.Certificate, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return nil, nil
	}
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
	st, err := newCertStore(Source{Param: "tls_server_sni_maps", Chain: config.Fields(value)}, m.now)
	if err != nil {
		return nil, err
	}
	st.warn, st.info = m.warn, m.info
	m.stores[value] = st
	return st, nil
}
