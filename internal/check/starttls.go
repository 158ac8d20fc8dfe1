package check

import "strings"

// startTLS warns about client certificate settings that cannot work, as
// Postfix's smtpd warns when it starts: smtpd_tls_req_ccert without
// mandatory TLS is ignored, and the client certificate restrictions
// never match while no certificate is asked for.
func (c *checker) startTLS() {
	level := strings.ToLower(c.value("smtpd_tls_security_level"))
	yes := func(name string) bool { v, err := c.cfg.Bool(name); return err == nil && v }
	if level == "" {
		switch {
		case yes("smtpd_enforce_tls"):
			level = "encrypt"
		case yes("smtpd_use_tls"):
			level = "may"
		}
	}
	if yes("smtpd_tls_wrappermode") {
		level = "encrypt"
	}
	req := yes("smtpd_tls_req_ccert")
	if req && level != "encrypt" {
		c.warnf("smtpd_tls_req_ccert", "Can't require client certs unless TLS is required (smtpd_tls_security_level = encrypt): the setting is ignored")
	}
	if yes("smtpd_tls_ask_ccert") || req && level == "encrypt" {
		return
	}
	for _, list := range restrictionLists {
		items, _ := c.cfg.List(list)
		for _, it := range items {
			switch n := strings.ToLower(it); n {
			case "permit_tls_clientcerts", "permit_tls_all_clientcerts", "check_ccert_access":
				c.warnf(list, "%s never matches: no client certificate is asked for (set smtpd_tls_ask_ccert = yes)", n)
			}
		}
	}
}
