package smtpd

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/postern-mta/postern/internal/tlsconf"
)

// instanceSeq numbers the transactions of this process for the policy
// service's "instance" attribute.
var instanceSeq atomic.Uint64

// policyAttr answers the check_policy_service attributes only the
// session knows (policy.Request.Session), as Postfix's smtpd fills them.
func (ss *session) policyAttr(name string) (string, bool) {
	tx := ss.tx
	switch name {
	case "protocol_state":
		return ss.where, ss.where != ""
	case "protocol_name":
		if ss.esmtp {
			return "ESMTP", true
		}
		return "SMTP", true
	case "queue_id":
		if tx != nil {
			return tx.env.ID, true
		}
	case "instance":
		// One value per transaction, so a policy server can tell the
		// RCPTs of one message from the next (Postfix: pid, arrival
		// time, sequence number).
		if tx != nil {
			if tx.instance == "" {
				t := tx.env.Arrival
				tx.instance = fmt.Sprintf("%x.%x.%x.%x", os.Getpid(), t.Unix(), t.Nanosecond()/1000, instanceSeq.Add(1))
			}
			return tx.instance, true
		}
	case "recipient", "recipient_count":
		// Postfix: the count only at DATA and END-OF-MESSAGE, the
		// recipient there only when it is the message's only one.
		if ss.where != "DATA" && ss.where != afterData && ss.where != afterDot && ss.where != "BDAT" {
			return "", false
		}
		n := 0
		if tx != nil {
			n = len(tx.env.Recipients)
		}
		if name == "recipient_count" {
			return strconv.Itoa(n), true
		}
		if n == 1 {
			return tx.env.Recipients[0].Original(), true
		}
		return "", true
	case "sasl_sender":
		if tx != nil {
			return tx.authSender, true
		}
	case "size":
		if tx != nil {
			return strconv.FormatInt(tx.size, 10), true
		}
	case "encryption_protocol", "encryption_cipher", "encryption_keysize":
		if ss.tls == nil {
			return "", false
		}
		// Postfix's names: OpenSSL's protocol and cipher names, and
		// the cipher's effective bits.
		switch name {
		case "encryption_protocol":
			return tlsconf.ProtocolName(ss.tls.Version), true
		case "encryption_cipher":
			return tlsconf.CipherName(ss.tls.CipherSuite), true
		}
		use, _ := tlsconf.CipherBits(ss.tls.CipherSuite)
		return strconv.Itoa(use), true
	case "stress":
		if ss.info.Stress {
			return "yes", true
		}
	case "client_port", "server_address", "server_port":
		a := ss.raw.RemoteAddr()
		if name != "client_port" {
			a = ss.raw.LocalAddr()
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return "", false
		}
		if name == "server_address" {
			return ap.Addr().Unmap().WithZone("").String(), true
		}
		return strconv.Itoa(int(ap.Port())), true
	}
	return "", false
}
