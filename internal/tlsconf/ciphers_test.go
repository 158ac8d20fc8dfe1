package tlsconf

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestGrade(t *testing.T) {
	secure := map[uint16]bool{}
	for _, c := range tls.CipherSuites() {
		secure[c.ID] = true
	}
	for _, tc := range []struct {
		grade    string
		n        int
		insecure bool
		err      bool
	}{
		{"high", 10, false, false},
		{"medium", 10, false, false},
		{"MEDIUM", 10, false, false},
		{"low", 22, true, false},
		{"export", 22, true, false},
		{"null", 0, false, true},
		{"strong", 0, false, true},
	} {
		ids, err := Grade(tc.grade)
		if (err != nil) != tc.err {
			t.Errorf("Grade(%s): %v", tc.grade, err)
			continue
		}
		if len(ids) != tc.n {
			t.Errorf("Grade(%s): %d suites, want %d", tc.grade, len(ids), tc.n)
		}
		hasInsecure := slices.ContainsFunc(ids, func(id uint16) bool { return !secure[id] })
		if hasInsecure != tc.insecure {
			t.Errorf("Grade(%s): insecure suites %v, want %v", tc.grade, hasInsecure, tc.insecure)
		}
	}
	// the table matches Go's own classification
	for _, s := range suites {
		if s.secure != secure[s.id] {
			t.Errorf("%s: secure = %v, Go says %v", s.openssl, s.secure, secure[s.id])
		}
	}
}

func TestExclude(t *testing.T) {
	low, _ := Grade("low")
	for _, tc := range []struct {
		list     string
		gone     []string // IANA names that must be excluded
		kept     []string
		warnings int
		err      bool
	}{
		{"RC4", []string{"TLS_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA"}, []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, 0, false},
		{"3DES, aNULL", []string{"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"}, []string{"TLS_RSA_WITH_RC4_128_SHA"}, 0, false},
		{"CBC", []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256"}, []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, 0, false},
		{"kRSA", []string{"TLS_RSA_WITH_AES_128_GCM_SHA256"}, []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, 0, false},
		{"RSA", []string{"TLS_RSA_WITH_AES_128_GCM_SHA256"}, []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, 0, false},
		{"aRSA", []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}, 0, false},
		{"AES128", []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"}, []string{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}, 0, false},
		{"AES", []string{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA"}, []string{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"}, 0, false},
		{"SHA1", []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA"}, []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"}, 0, false},
		{"SHA", []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}, nil, 0, false},
		{"ECDHE-RSA-AES128-SHA", []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}, []string{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}, 0, false},
		{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}, []string{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}, 0, false},
		{"aNULL eNULL DHE CAMELLIA EXPORT LOW MD5", nil, []string{"TLS_RSA_WITH_RC4_128_SHA"}, 0, false},
		{"RC4 bogus", []string{"TLS_RSA_WITH_RC4_128_SHA"}, nil, 1, false},
		{"DHE-RSA-AES128-SHA", nil, nil, 1, false},
		{"TLS_AES_128_GCM_SHA256", nil, nil, 0, true},
		{"!RC4", nil, nil, 0, true},
		{"RC4:@STRENGTH", nil, nil, 0, true},
	} {
		kept, warnings, err := Exclude(low, tc.list)
		if (err != nil) != tc.err {
			t.Errorf("Exclude(%q): %v", tc.list, err)
			continue
		}
		if len(warnings) != tc.warnings {
			t.Errorf("Exclude(%q): warnings %q, want %d", tc.list, warnings, tc.warnings)
		}
		names := map[string]bool{}
		for _, id := range kept {
			names[tls.CipherSuiteName(id)] = true
		}
		for _, g := range tc.gone {
			if names[g] {
				t.Errorf("Exclude(%q) kept %s", tc.list, g)
			}
		}
		for _, k := range tc.kept {
			if !names[k] {
				t.Errorf("Exclude(%q) dropped %s", tc.list, k)
			}
		}
	}
}

func FuzzCiphers(f *testing.F) {
	for _, s := range []string{"medium|aNULL, RC4", "high|3DES:CBC", "low|TLS_AES_128_GCM_SHA256", "null|", "export|!kRSA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		grade, excl, _ := strings.Cut(s, "|")
		ids, warnings, err := Ciphers(grade, excl)
		if err != nil {
			return
		}
		low, _ := Grade("low")
		for _, id := range ids {
			if !slices.Contains(low, id) {
				t.Fatalf("%q: suite %x not in any grade", s, id)
			}
		}
		_ = warnings
	})
}
