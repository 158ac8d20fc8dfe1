package rewrite

import (
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// FromConfig reads main.cf's rewriting parameters into a Config; the
// caller sets Open, IsLocal, Qualify and Log.
func FromConfig(cfg *config.Config) (Config, error) {
	var c Config
	var err error
	for name, dst := range map[string]*[]string{"virtual_alias_maps": &c.VirtualAlias, "canonical_maps": &c.Canonical,
		"sender_canonical_maps": &c.SenderCanonical, "recipient_canonical_maps": &c.RecipientCanonical,
		"masquerade_exceptions": &c.MasqueradeExceptions} {
		if *dst, err = cfg.List(name); err != nil {
			return c, err
		}
	}
	masq, err := cfg.List("masquerade_domains")
	if err != nil {
		return c, err
	}
	for _, d := range masq {
		c.Masquerade = append(c.Masquerade, strings.TrimSuffix(strings.ToLower(d), "."))
	}
	for name, dst := range map[string]*Class{"canonical_classes": &c.CanonicalClasses, "sender_canonical_classes": &c.SenderClasses,
		"recipient_canonical_classes": &c.RecipientClasses, "masquerade_classes": &c.MasqueradeClasses} {
		words, err := cfg.List(name)
		if err != nil {
			return c, err
		}
		*dst = classes(words)
	}
	prop, err := cfg.List("propagate_unmatched_extensions")
	if err != nil {
		return c, err
	}
	for _, w := range prop {
		switch strings.ToLower(w) {
		case "canonical":
			c.PropagateCanonical = true
		case "virtual":
			c.PropagateVirtual = true
		}
	}
	if c.Delimiter, err = cfg.Get("recipient_delimiter"); err != nil {
		return c, err
	}
	limits := map[string]*int{"virtual_alias_expansion_limit": &c.ExpansionLimit, "virtual_alias_recursion_limit": &c.RecursionLimit,
		"virtual_alias_address_length_limit": &c.LengthLimit}
	for name, dst := range limits {
		n, err := cfg.Int(name)
		if err != nil {
			return c, err
		}
		*dst = int(n)
	}
	return c, nil
}

// classes is the set of address class names in words.
func classes(words []string) Class {
	var c Class
	for _, w := range words {
		switch strings.ToLower(w) {
		case "envelope_sender":
			c |= EnvelopeSender
		case "envelope_recipient":
			c |= EnvelopeRecipient
		case "header_sender":
			c |= HeaderSender
		case "header_recipient":
			c |= HeaderRecipient
		}
	}
	return c
}
