package config

// pscacheParams are the settings of postscreen's temporary allowlist
// file (internal/postscreen, cachemap.go), with Postfix 3.7's defaults.
// postscreen_cache_retention_time is in postscreenParams.
var pscacheParams = []Param{
	// btree, lmdb, hash and cdb (after an optional proxy:) all name
	// postern's own file at the path plus ".postern"; empty: no cache.
	{Name: "postscreen_cache_map", Default: "btree:$data_directory/postscreen_cache", Kind: String},
	{Name: "postscreen_cache_cleanup_interval", Default: "12h", Kind: Time, Unit: 'h', Min: 0, HasMin: true},
	// postscreen_cache_size_limit (postern-only): the records the cache
	// holds at most (0: no bound); beyond, those that expire first are
	// dropped, with a warning.
	{Name: "postscreen_cache_size_limit", Default: "1000000", Kind: Int, Min: 0, HasMin: true},
}
