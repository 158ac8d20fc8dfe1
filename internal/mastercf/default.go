package mastercf

import (
	_ "embed" // for the bundled default master.cf
	"strings"
)

//go:embed default.master.cf
var defaultText string

// Default returns the master.cf that postern installs when there is none:
// Postfix's standard services in Postfix's layout, with submission (587)
// and submissions (465) entries commented out, as Postfix 3.7 ships them.
func Default() string { return defaultText }

// UncommentSubmission returns text (a master.cf such as Default) with
// the submission and submissions entries of Postfix's stock layout
// enabled, as their comment tells the administrator to do: the leading
// "#" is removed from the "#submission" and "#submissions" lines and
// from the "#  -o" lines that follow them; the loopback-only variants
// and the explanatory comments stay as they are. Tests and `postern
// check` examples use it.
func UncommentSubmission(text string) string {
	lines := strings.Split(text, "\n")
	in := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "#submission ") || strings.HasPrefix(l, "#submissions "):
			lines[i], in = l[1:], true
		case in && strings.HasPrefix(l, "#  -o "):
			lines[i] = l[1:]
		case in && strings.HasPrefix(l, "#     "):
			// The stock entries' explanation: a comment inside the entry.
		default:
			in = false
		}
	}
	return strings.Join(lines, "\n")
}
