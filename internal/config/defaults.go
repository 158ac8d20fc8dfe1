package config

import (
	"context"
	"strings"

	"github.com/postern-mta/postern/internal/inetaddr"
)

// defaultMyhostname is the system hostname; a name without a dot gets
// "." + mydomain from main.cf, or ".localdomain" (no DNS lookup, as Postfix).
func defaultMyhostname(c *Config) (string, error) {
	h := c.Hostname
	if strings.Contains(h, ".") {
		return h, nil
	}
	domain := "localdomain"
	_, inMain := c.SetInMain("mydomain")
	_, overridden := c.Overrides["mydomain"]
	if inMain || overridden {
		d, err := c.Get("mydomain")
		if err != nil {
			return h + "." + domain, err
		}
		domain = d
	}
	return h + "." + domain, nil
}

// defaultMydomain is myhostname minus its first label, or "localdomain".
func defaultMydomain(c *Config) (string, error) {
	h, err := c.Get("myhostname")
	if err != nil {
		return "localdomain", err
	}
	if _, rest, ok := strings.Cut(h, "."); ok && rest != "" {
		return rest, nil
	}
	return "localdomain", nil
}

// defaultMynetworks derives mynetworks from the inet_interfaces addresses
// per mynetworks_style. Unlike Postfix, an unusable inet_interfaces yields
// an empty list and a warning rather than breaking every command.
func defaultMynetworks(c *Config) (string, error) {
	style, err := c.Get("mynetworks_style")
	if err != nil {
		return "", err
	}
	addrs, err := c.InetAddrs(context.Background())
	if err != nil {
		return "", err
	}
	return inetaddr.Mynetworks(addrs, style)
}
