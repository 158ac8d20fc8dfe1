package aliases

import "github.com/postern-mta/postern/internal/maps"

// Fold folds an alias name or local part to lower case exactly as the
// maps package folds the keys of hash:/cdb: tables when it builds and
// queries them, so that a name is stored under the key lookups ask for.
func Fold(s string) string { return maps.FoldKey(s) }
