package mastercf

import _ "embed" // for the bundled default master.cf

//go:embed default.master.cf
var defaultText string

// Default returns the master.cf that postern installs when there is none:
// Postfix's standard services in Postfix's layout, with submission (587)
// and smtps (465) entries present but commented out.
func Default() string { return defaultText }
