// Package dkim signs mail with DKIM (RFC 6376): rsa-sha256 and
// ed25519-sha256 (RFC 8463), relaxed/relaxed canonicalization, never l=.
//
// What is implemented:
//   - Signer: one signature per key (dual signing when both an RSA and an
//     Ed25519 key exist), streamed from an io.Reader: the header block is
//     held (it is bounded by MaxHeaderBytes), the body is hashed as it is
//     read and never held. The result is the DKIM-Signature header fields to
//     prepend to the message.
//   - The header set of current guidance (RFC 6376 §5.4.1, M3AAWG): only the
//     fields present are signed, each once per occurrence, and From once
//     more than present (oversigned) so an added From breaks the signature.
//   - Keys: PEM loading (PKCS#1 and PKCS#8 RSA, PKCS#8 Ed25519), generation
//     (RSA 2048 bits by default, Ed25519), and the DNS TXT record to publish
//     ("v=DKIM1; k=rsa; p=..."), split into strings of at most 255 bytes
//     for zone files.
//
// The signer is our own (RFC 6376 §3.4.2/§3.4.4 canonicalization, §3.5
// tags, §5.4.2 field order). github.com/emersion/go-msgauth v0.7.0 was
// read and tried first; it falls short on streaming: its relaxed body
// canonicalizer allocates a copy of every write and buffers runs of empty
// lines without bound (34 MB allocated to sign 8 MiB with two keys, vs
// under 1 MB here), it hashes the body once per key, and it cannot fix t=
// for tests. It stays a test-only dependency: its verifier is one of the
// two independent checks of what we sign (Debian's dkimpy is the other).
//
// Where it is used: internal/dkimsign is the signing stage (which mail,
// which keys: dkim_signing_maps), run once before a message is queued;
// `postern dkim keygen` and `postern dkim check` (cmd/postern/dkim.go)
// make keys and compare the DNS with them.
package dkim
