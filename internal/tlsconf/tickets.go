package tlsconf

import (
	"crypto/tls"
	"encoding/binary"
	"time"
)

// Session tickets are off by default: Go sends them after every TLS 1.3
// handshake, and Outlook.com's sending servers abort STARTTLS when they
// get one. A non-empty tls_session_ticket_cipher turns them on; Go
// chooses the ticket cipher itself (AES in CBC mode with HMAC-SHA256,
// keys rotated automatically), so the value only switches them on.
// smtpd_tls_session_cache_timeout bounds a ticket's age (0 turns tickets
// off, as in Postfix): the issue time travels inside the encrypted
// ticket and a ticket older than the timeout is not resumed. Go never
// lets a ticket live more than 7 days whatever the timeout.

// ticketAge stamps tickets with their issue time and refuses old ones.
func ticketAge(tc *tls.Config, timeout time.Duration, now func() time.Time) {
	tc.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		stamp := binary.BigEndian.AppendUint64([]byte("postern-issued:"), uint64(now().Unix()))
		ss.Extra = append(ss.Extra, stamp)
		return tc.EncryptTicket(cs, ss)
	}
	tc.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := tc.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		for _, e := range ss.Extra {
			if len(e) == 23 && string(e[:15]) == "postern-issued:" {
				issued := time.Unix(int64(binary.BigEndian.Uint64(e[15:])), 0)
				if now().Sub(issued) <= timeout {
					return ss, nil
				}
			}
		}
		return nil, nil // unknown or expired: a full handshake
	}
}
