package config

// outlimitParams are postern's outbound limits per sender
// (internal/sendlimit), beyond Postfix.
var outlimitParams = []Param{
	// sender_rate_limit_maps (postern-only): tables of limits on the
	// mail each sender sends; keys are a SASL login name, a sender
	// domain or uid:N, values rules like "100/1h, 1000rcpt/1d".
	{Name: "sender_rate_limit_maps", Default: "", Kind: MapList},
}
