#!/bin/sh
# Regenerates the *.golden and *.warnings files from real Postfix.
# Run from anywhere on a machine with Postfix's postmap; it never starts
# Postfix. A private config directory with compatibility_level = 3.6
# (smtputf8_enable = yes) is used, like the differential test.
set -eu
cd "$(dirname "$0")/.."
cfg=$(mktemp -d)
trap 'rm -rf "$cfg"' EXIT
echo 'compatibility_level = 3.6' > "$cfg/main.cf"
# texthash re-reads files modified in the last second; avoid the noise.
touch -d '2020-01-01' testdata/access testdata/cidr.cidr testdata/regexp.regexp
run() { # type file keys name
	postmap -c "$cfg" -q - "$1:testdata/$2" < "testdata/$3" > "testdata/$4.golden" 2> "$cfg/err" || true
	sed -n 's/^postmap: warning: //p' "$cfg/err" | grep -v '^table ' | sort -u > "testdata/$4.warnings"
}
run texthash access access.keys texthash
run cidr cidr.cidr cidr.keys cidr
run regexp regexp.regexp regexp.keys regexp
# hash: build with postmap, query, and record the build warnings.
cp testdata/access "$cfg/access"
postmap -c "$cfg" "hash:$cfg/access" 2> "$cfg/err"
sed -n "s|^postmap: warning: $cfg/|testdata/|p" "$cfg/err" | sort -u > testdata/hash.warnings
postmap -c "$cfg" -q - "hash:$cfg/access" < testdata/access.keys > testdata/hash.golden || true
