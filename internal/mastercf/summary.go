package mastercf

import (
	"fmt"
	"strings"
)

// Summary names a file's services in one line for administrators: each
// inet service with its port and command, then the other services,
// e.g. "smtp inet on port 25 (smtpd), pickup, cleanup, qmgr and 21 more".
func (f *File) Summary() string {
	var inet, other []string
	for _, s := range f.Services {
		if s.Type != Inet {
			other = append(other, s.Name)
			continue
		}
		if _, port, err := s.HostPort(); err == nil {
			inet = append(inet, fmt.Sprintf("%s inet on port %d (%s)", s.Name, port, s.Command))
		}
	}
	const shown = 4
	if len(other) > shown {
		other = append(other[:shown:shown], fmt.Sprintf("%d more", len(other)-shown))
	}
	parts := append(inet, other...)
	switch len(parts) {
	case 0:
		return "no services"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
