package config

// vclassParams are Postfix's address classes beyond local and relay
// (ADDRESS_CLASS_README): the virtual alias and virtual mailbox domains,
// the recipient tables of each class and the replies for an unknown
// recipient or sender (internal/route, internal/policy).
var vclassParams = []Param{
	// virtual_alias_domains: a recipient there must be aliased by
	// virtual_alias_maps; its domain is accepted for relay control.
	{Name: "virtual_alias_domains", Default: "$virtual_alias_maps", Kind: List},
	{Name: "virtual_alias_maps", Default: "$virtual_maps", Kind: MapList},
	// virtual_maps is Postfix 1.x's name of virtual_alias_maps; postconf
	// -d does not print it, but $virtual_maps still sets the default.
	{Name: "virtual_maps", Default: "", Kind: MapList},
	{Name: "virtual_mailbox_domains", Default: "$virtual_mailbox_maps", Kind: List},
	{Name: "virtual_mailbox_maps", Default: "", Kind: MapList},
	{Name: "virtual_transport", Default: "virtual", Kind: String},
	{Name: "relay_recipient_maps", Default: "", Kind: MapList},
	{Name: "smtpd_reject_unlisted_sender", Default: "no", Kind: Bool},
	{Name: "unknown_virtual_alias_reject_code", Default: "550", Kind: Int},
	{Name: "unknown_virtual_mailbox_reject_code", Default: "550", Kind: Int},
	{Name: "unknown_relay_recipient_reject_code", Default: "550", Kind: Int},
	// show_user_unknown_table_name: "User unknown in virtual mailbox
	// table" or just "User unknown".
	{Name: "show_user_unknown_table_name", Default: "yes", Kind: Bool},
}
