package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// suite is one of Go's TLS 1.0-1.2 cipher suites with the OpenSSL name
// and the OpenSSL aliases that select it.
type suite struct {
	id      uint16
	openssl string
	secure  bool     // in tls.CipherSuites(): grades high and medium
	tags    []string // OpenSSL aliases matching it, lower case
}

// suites are Go's TLS 1.2 suites. TLS 1.3 suites are not listed: Go
// offers all three and they cannot be configured.
var suites = []suite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", true, tags("kECDHE aECDSA AES128 AESGCM AEAD SHA256")},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", true, tags("kECDHE aECDSA AES256 AESGCM AEAD SHA384")},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", true, tags("kECDHE aRSA AES128 AESGCM AEAD SHA256")},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", true, tags("kECDHE aRSA AES256 AESGCM AEAD SHA384")},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", true, tags("kECDHE aECDSA CHACHA20 AEAD SHA256")},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", true, tags("kECDHE aRSA CHACHA20 AEAD SHA256")},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", true, tags("kECDHE aECDSA AES128 CBC SHA1")},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", true, tags("kECDHE aECDSA AES256 CBC SHA1")},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", true, tags("kECDHE aRSA AES128 CBC SHA1")},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", true, tags("kECDHE aRSA AES256 CBC SHA1")},
	// Go's insecure suites: grades low and export only.
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", false, tags("kECDHE aECDSA AES128 CBC SHA256")},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", false, tags("kECDHE aRSA AES128 CBC SHA256")},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", false, tags("kRSA aRSA AES128 AESGCM AEAD SHA256")},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", false, tags("kRSA aRSA AES256 AESGCM AEAD SHA384")},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", false, tags("kRSA aRSA AES128 CBC SHA256")},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", false, tags("kRSA aRSA AES128 CBC SHA1")},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", false, tags("kRSA aRSA AES256 CBC SHA1")},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", false, tags("kECDHE aRSA 3DES CBC SHA1")},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", false, tags("kRSA aRSA 3DES CBC SHA1")},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", false, tags("kECDHE aECDSA RC4 SHA1")},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", false, tags("kECDHE aRSA RC4 SHA1")},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", false, tags("kRSA aRSA RC4 SHA1")},
}

func tags(s string) []string { return strings.Fields(strings.ToLower(s)) }

// aliases maps OpenSSL spellings onto the tags above.
var aliases = map[string]string{
	"rsa": "krsa", "ecdhe": "kecdhe", "eecdh": "kecdhe", "keecdh": "kecdhe",
	"ecdsa": "aecdsa", "sha": "sha1", "des-cbc3": "3des", "aes": "aes",
	"chacha20-poly1305": "chacha20",
}

// noSuite are OpenSSL aliases that match none of Go's suites: excluding
// them is enforced trivially.
var noSuite = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`anull enull null export exp export40 export56 low des idea seed
		camellia camellia128 camellia256 aria aria128 aria256 psk kpsk apsk kecdhepsk kdhepsk krsapsk srp ksrp asrp
		dss adss dh edh dhe kdhe kedh adh aecdh md5 agost gost94 gost89mac kgost kecdh aecdh kdh
		rc2 aesccm aesccm8 ccm ccm8 anon`) {
		noSuite[a] = true
	}
}

// tls13Names are the TLS 1.3 suites: Go enables all three, always.
var tls13Names = map[string]bool{"tls_aes_128_gcm_sha256": true, "tls_aes_256_gcm_sha384": true,
	"tls_chacha20_poly1305_sha256": true, "tls_aes_128_ccm_sha256": true, "tls_aes_128_ccm_8_sha256": true}

// Grade returns the TLS 1.2 suites of a Postfix cipher grade: high and
// medium are Go's secure suites (ECDHE with AES-GCM, ChaCha20-Poly1305
// or AES-CBC-SHA); low and export add Go's insecure ones (RSA key
// exchange, CBC-SHA256, 3DES, RC4). Go has no MEDIUM-only, LOW-only or
// EXPORT suites; the null grade (no encryption) is refused.
func Grade(g string) ([]uint16, error) {
	var secureOnly bool
	switch strings.ToLower(strings.TrimSpace(g)) {
	case "high", "medium":
		secureOnly = true
	case "low", "export":
	case "null":
		return nil, fmt.Errorf("cipher grade null (no encryption) is not available in Go's TLS")
	default:
		return nil, fmt.Errorf("unknown cipher grade %q (use high, medium, low or export)", g)
	}
	var ids []uint16
	for _, s := range suites {
		if s.secure || !secureOnly {
			ids = append(ids, s.id)
		}
	}
	return ids, nil
}

// Exclude removes from ids the suites an exclusion list names: OpenSSL
// aliases (aNULL, RC4, 3DES, CBC, AES128, SHA1, kRSA, aECDSA, …), OpenSSL
// suite names (ECDHE-RSA-AES128-SHA) or IANA names
// (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA). Aliases of algorithms Go never
// offers (aNULL, DHE, CAMELLIA, …) match nothing. A name postern does not
// know is returned in warnings, not silently accepted; a TLS 1.3 suite
// is an error, since Go cannot turn those off, and so is a name with
// OpenSSL's operators (!, +, -, @), as in Postfix.
func Exclude(ids []uint16, list string) (kept []uint16, warnings []string, err error) {
	drop := map[uint16]bool{}
	for _, tok := range splitList(list) {
		if strings.ContainsAny(tok[:1], "!+-@") {
			return nil, nil, fmt.Errorf("invalid unary '!+-@' in cipher exclusion: %s (name the ciphers to exclude)", tok)
		}
		name := strings.ToLower(tok)
		if tls13Names[name] {
			return nil, nil, fmt.Errorf("cannot exclude the TLS 1.3 suite %s: Go always offers every TLS 1.3 suite (exclude TLSv1.3 in the protocols instead)", tok)
		}
		if noSuite[name] {
			continue
		}
		if a, ok := aliases[name]; ok {
			name = a
		}
		n := 0
		for _, s := range suites {
			if s.matches(name) {
				drop[s.id] = true
				n++
			}
		}
		if n == 0 {
			warnings = append(warnings, fmt.Sprintf("unknown cipher name %q in the exclusion list: ignored (it names no cipher suite Go offers)", tok))
		}
	}
	for _, id := range ids {
		if !drop[id] {
			kept = append(kept, id)
		}
	}
	return kept, warnings, nil
}

func (s suite) matches(name string) bool {
	if name == strings.ToLower(s.openssl) || name == strings.ToLower(tls.CipherSuiteName(s.id)) {
		return true
	}
	for _, t := range s.tags {
		if t == name || name == "aes" && strings.HasPrefix(t, "aes") && t != "aesgcm" {
			return true
		}
	}
	return false
}
