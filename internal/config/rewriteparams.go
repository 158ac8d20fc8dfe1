package config

import (
	"fmt"
	"strings"
)

// rewriteParams are the address rewriting of Postfix's cleanup(8)
// (internal/rewrite): canonical mapping, masquerading and virtual alias
// expansion (virtual_alias_maps itself is in vclassParams).
var rewriteParams = []Param{
	{Name: "virtual_alias_expansion_limit", Default: "1000", Kind: Int, Min: 1, HasMin: true},
	{Name: "virtual_alias_recursion_limit", Default: "1000", Kind: Int, Min: 1, HasMin: true},
	// 0: no limit.
	{Name: "virtual_alias_address_length_limit", Default: "1000", Kind: Int, Min: 0, HasMin: true},
	{Name: "canonical_maps", Default: "", Kind: MapList},
	{Name: "sender_canonical_maps", Default: "", Kind: MapList},
	{Name: "recipient_canonical_maps", Default: "", Kind: MapList},
	{Name: "canonical_classes", Default: "envelope_sender, envelope_recipient, header_sender, header_recipient", Kind: List, Check: checkAddressClasses},
	{Name: "sender_canonical_classes", Default: "envelope_sender, header_sender", Kind: List, Check: checkAddressClasses},
	{Name: "recipient_canonical_classes", Default: "envelope_recipient, header_recipient", Kind: List, Check: checkAddressClasses},
	{Name: "masquerade_domains", Default: "", Kind: List},
	{Name: "masquerade_exceptions", Default: "", Kind: List},
	{Name: "masquerade_classes", Default: "envelope_sender, header_sender, header_recipient", Kind: List, Check: checkAddressClasses},
	// Whose headers are rewritten (besides local submissions):
	// local_header_rewrite_clients, or every client's with
	// remote_header_rewrite_domain.
	{Name: "local_header_rewrite_clients", Default: "permit_inet_interfaces", Kind: List, Check: checkHeaderClients},
	{Name: "remote_header_rewrite_domain", Default: "", Kind: String},
	{Name: "propagate_unmatched_extensions", Default: "canonical, virtual", Kind: List, Check: checkPropagate},
}

// checkAddressClasses accepts Postfix's address class names.
func checkAddressClasses(_ *Config, v string) error {
	for _, w := range splitWords(v) {
		switch w {
		case "envelope_sender", "envelope_recipient", "header_sender", "header_recipient":
		default:
			return fmt.Errorf("unknown address class %q (expected envelope_sender, envelope_recipient, header_sender, header_recipient)", w)
		}
	}
	return nil
}

// checkPropagate accepts the propagate_unmatched_extensions names postern
// implements and refuses the others (the local agent's alias, forward,
// include; generic).
func checkPropagate(_ *Config, v string) error {
	for _, w := range splitWords(v) {
		switch w {
		case "canonical", "virtual":
		case "alias", "forward", "include", "generic":
			return fmt.Errorf("%q is not implemented: postern propagates unmatched extensions in canonical and virtual alias mapping only", w)
		default:
			return fmt.Errorf("unknown address mapping %q (expected canonical, virtual, alias, forward, include, generic)", w)
		}
	}
	return nil
}

// splitWords splits a list value at commas and white space, lower case.
func splitWords(v string) []string {
	return strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// checkHeaderClients accepts the local_header_rewrite_clients elements
// postern implements.
func checkHeaderClients(_ *Config, v string) error {
	for _, w := range splitWords(v) {
		switch w {
		case "permit_inet_interfaces", "permit_mynetworks", "permit_sasl_authenticated", "static:all":
		default:
			return fmt.Errorf("%q is not implemented (postern implements permit_inet_interfaces, permit_mynetworks, permit_sasl_authenticated, static:all)", w)
		}
	}
	return nil
}
