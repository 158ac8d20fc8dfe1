package config

// dkimParams are DKIM signing (internal/dkimsign, internal/dkim):
// postern-only parameters (see the README).
var dkimParams = []Param{
	// dkim_key_directory: where `postern dkim keygen` writes
	// DOMAIN.SELECTOR.key, and where a relative key file of
	// dkim_signing_maps is found.
	{Name: "dkim_key_directory", Default: "$config_directory/dkim", Kind: String},
	// dkim_signing_maps: domain -> "selector:keyfile" (one, or two for
	// dual RSA + Ed25519 signing). Empty: nothing is signed.
	{Name: "dkim_signing_maps", Default: "", Kind: MapList},
}
