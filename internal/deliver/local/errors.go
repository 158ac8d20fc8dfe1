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
}

func sent(reason string) outcome { return outcome{deliver.Sent, "2.0.0", reason} }

// failed is a bounce or, for a 4.x.x status, a deferral.
func failed(dsn, reason string) outcome {
	if strings.HasPrefix(dsn, "4") {
		return outcome{deliver.Deferred, dsn, reason}
	}
	return outcome{deliver.Bounced, dsn, reason}
}
