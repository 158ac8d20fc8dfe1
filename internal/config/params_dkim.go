package config

// dkimParams are DKIM signing (internal/dkim, the signing stage):
// postern-only parameters (see the README).
var dkimParams = []Param{}
