package config

import (
	"errors"
	"fmt"
	"strings"
)

// virtualParams are the virtual(8) delivery agent's own parameters
// (internal/deliver/virtual). The address class parameters it shares
// with routing (virtual_mailbox_maps, virtual_mailbox_domains,
// virtual_transport) are elsewhere.
var virtualParams = []Param{
	// virtual_mailbox_base: the directory every virtual_mailbox_maps
	// result is below; empty (the default) leaves the agent unusable.
	{Name: "virtual_mailbox_base", Default: "", Kind: String, Check: checkVirtualMailboxBase},
	{Name: "virtual_uid_maps", Default: "", Kind: MapList},
	{Name: "virtual_gid_maps", Default: "", Kind: MapList},
	{Name: "virtual_minimum_uid", Default: "100", Kind: Int, Min: 1, HasMin: true},
	{Name: "virtual_mailbox_limit", Default: "51200000", Kind: Size, Min: 0, HasMin: true},
	// Postfix's default on Linux (postconf -d).
	{Name: "virtual_mailbox_lock", Default: "fcntl, dotlock", Kind: List, Check: checkMailboxLock},
}

func checkVirtualMailboxBase(_ *Config, v string) error {
	if v != "" && !strings.HasPrefix(v, "/") {
		return fmt.Errorf("do not specify relative pathname: %q", v)
	}
	return nil
}

// checkMailboxLock accepts a list of Postfix's mailbox lock methods.
func checkMailboxLock(_ *Config, v string) error {
	methods := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(methods) == 0 {
		return errors.New("no lock method: use flock, fcntl or dotlock")
	}
	for _, m := range methods {
		switch strings.ToLower(m) {
		case "flock", "fcntl", "dotlock":
		default:
			return fmt.Errorf("invalid lock method %q: use flock, fcntl or dotlock", m)
		}
	}
	return nil
}
