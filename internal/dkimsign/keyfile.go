package dkimsign

import (
	"crypto"
	"fmt"
	"os"

	"github.com/postern-mta/postern/internal/dkim"
)

// LoadKey reads a private key file. A key that every local user can read,
// or that others than its owner can change, is refused as OpenDKIM's
// RequireSafeKeys (on by default) refuses it: anyone on the host could
// sign mail as the domain.
func LoadKey(path string) (crypto.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o026 != 0 {
		return nil, fmt.Errorf("key file %s is unsafe (mode %04o: readable by everyone or writable by others than its owner): run \"chmod 0600 %s\"", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, unwrapPath(err))
	}
	key, err := dkim.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// unwrapPath drops the "open PATH:" of a *PathError (the path is said
// already).
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
