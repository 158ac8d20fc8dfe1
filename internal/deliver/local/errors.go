package local

import (
	"strings"

	"github.com/postern-mta/postern/internal/deliver"
)

// outcome is the result of delivering to one destination.
type outcome struct {
	kind   deliver.Kind
	dsn    string
	reason string
	pass   string // an address left to mailbox_transport (kind Sent, no reason)
}

func sent(reason string) outcome { return outcome{kind: deliver.Sent, dsn: "2.0.0", reason: reason} }

// failed is a bounce or, for a 4.x.x status, a deferral.
func failed(dsn, reason string) outcome {
	if strings.HasPrefix(dsn, "4") {
		return outcome{kind: deliver.Deferred, dsn: dsn, reason: reason}
	}
	return outcome{kind: deliver.Bounced, dsn: dsn, reason: reason}
}
