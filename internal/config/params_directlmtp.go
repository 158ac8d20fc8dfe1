package config

// directLMTPParams are postern's own: direct delivery over LMTP
// (internal/qmgr/direct.go), beside direct_local_delivery.
var directLMTPParams = []Param{
	// A small message whose recipients all go to one lmtp next hop is
	// delivered there while the SMTP client waits, and answered 250 once
	// the LMTP server answered 250 for each recipient.
	{Name: "direct_lmtp_delivery", Default: "yes", Kind: Bool},
}
