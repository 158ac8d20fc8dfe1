package postscreen

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// ehloReply is the enforce engine's answer to EHLO, as Postfix 3.7's
// postscreen gives it: smtpd's keywords without PIPELINING, AUTH or
// STARTTLS (postern's postscreen has no TLS), with SIZE from
// message_size_limit, VRFY unless disable_vrfy_command and SMTPUTF8
// when smtputf8_enable.
func ehloReply(cfg *config.Config, hostname string) (string, error) {
	size, err := cfg.Int("message_size_limit")
	if err != nil {
		return "", err
	}
	noVrfy, err := cfg.Bool("disable_vrfy_command")
	if err != nil {
		return "", err
	}
	utf8, err := cfg.Bool("smtputf8_enable")
	if err != nil {
		return "", err
	}
	lines := []string{hostname, "SIZE"}
	if size > 0 {
		lines[1] = fmt.Sprintf("SIZE %d", size)
	}
	if !noVrfy {
		lines = append(lines, "VRFY")
	}
	lines = append(lines, "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN")
	if utf8 {
		lines = append(lines, "SMTPUTF8")
	}
	lines = append(lines, "CHUNKING")
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l)
		if i < len(lines)-1 {
			b.WriteString("\r\n")
		}
	}
	return b.String(), nil
}
