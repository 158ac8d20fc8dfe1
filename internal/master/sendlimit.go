package master

import (
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/sendlimit"
)

// sendCounter counts every sender_rate_limit_maps limit of this
// process, across reloads (a reload changes the tables, not the
// counts); a restart resets it.
var sendCounter = &sendlimit.Counter{}

func openSendLimitTable(spec string) (sendlimit.Table, error) { return maps.Open(spec) }
