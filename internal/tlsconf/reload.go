package tlsconf

import (
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// certStore serves one certificate set and reloads it when its files
// change. Every handshake stats the files (through symlinks, so that a
// certbot live/ link or a Kubernetes ..data swap is seen) and compares
// device, inode, size and modification time with those of the loaded
// set: no timer and no inotify. A new set that does not load (unreadable,
// half-written, key mismatch, expired) is reported once per change and
// the set in use stays. At start (and postern reload) an expired
// certificate is served with a warning: there is no other.
type certStore struct {
	src   Source
	cur   atomic.Pointer[loadedCerts]
	mu    sync.Mutex // held while reloading
	bad   []fileID   // signature of the last set that failed to load
	warn  func(string)
	info  func(string)
	now   func() time.Time
	files []string
	// settle waits before a set that does not load is called bad (a
	// test replaces it).
	settle func()
}

type loadedCerts struct {
	certs []tls.Certificate
	sig   []fileID
}

// newCertStore loads src now: an error is fatal for New. An expired
// certificate is not: with nothing else to serve it is served, as
// Postfix does (opportunistic senders do not check), and expired says
// so for a warning.
func newCertStore(src Source, now func() time.Time) (st *certStore, expired error, err error) {
	st = &certStore{src: src, now: now, files: src.Files(), warn: func(string) {}, info: func(string) {},
		settle: func() {}} // at start or reload an error is reported at once
	certs, sig, err := st.load(signature(st.files))
	if err != nil {
		return nil, nil, err
	}
	st.settle = func() { time.Sleep(settleTime) }
	st.cur.Store(&loadedCerts{certs: certs, sig: sig})
	return st, Expired(certs, now()), nil
}

// get returns the current certificates, reloading them first when a
// file changed.
func (st *certStore) get() []tls.Certificate {
	sig := signature(st.files)
	l := st.cur.Load()
	if slices.Equal(l.sig, sig) {
		return l.certs
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// Stat again: another handshake may have reloaded while this one
	// waited, and the files may have changed since the first stat.
	sig = signature(st.files)
	if l = st.cur.Load(); slices.Equal(l.sig, sig) || slices.Equal(st.bad, sig) {
		return l.certs
	}
	certs, sig, err := st.load(sig)
	if err == nil {
		// a new certificate that has expired: the one in use is better
		err = Expired(certs, st.now())
	}
	if err != nil {
		st.bad = sig
		st.warn(fmt.Sprintf("cannot reload the certificates of %s: %v; still using the previous ones", st.src.Param, err))
		return l.certs
	}
	st.bad = nil
	st.cur.Store(&loadedCerts{certs: certs, sig: sig})
	st.info(fmt.Sprintf("reloaded the certificates of %s (%s): %s", st.src.Param, strings.Join(st.files, ", "), describeCerts(certs)))
	return certs
}

// fileID identifies the contents of a file without reading it.
type fileID struct {
	dev, ino    uint64
	size, mtime int64
	err         string
}

// settleTime is how long a set that fails to load is given to change
// again before it is called bad: certbot swaps its live/ links one by
// one (privkey.pem, then fullchain.pem), and a handshake in between sees
// a key that does not match its certificate, or a missing file.
const settleTime = 200 * time.Millisecond

// load reads the files until they stay the same while being read (a
// replacement of several files may be seen half done) and, when what
// it read does not load, until they stay the same for settleTime; it
// returns the signature of what it read.
func (st *certStore) load(sig []fileID) ([]tls.Certificate, []fileID, error) {
	for attempt := 0; ; attempt++ {
		certs, err := st.src.Load()
		after := signature(st.files)
		if !slices.Equal(after, sig) && attempt < 3 {
			sig = after
			continue
		}
		if err != nil && attempt < 3 {
			st.settle()
			if next := signature(st.files); !slices.Equal(next, after) {
				sig = next
				continue
			}
		}
		return certs, after, err
	}
}

// signature identifies the current contents of files: device, inode,
// size and modification time of what each name resolves to, or the
// error stat returned.
func signature(files []string) []fileID {
	sig := make([]fileID, len(files))
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			sig[i].err = err.Error()
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			sig[i].dev, sig[i].ino = uint64(st.Dev), st.Ino
		}
		sig[i].size, sig[i].mtime = fi.Size(), fi.ModTime().UnixNano()
	}
	return sig
}

func describeCerts(certs []tls.Certificate) string {
	var parts []string
	for _, c := range certs {
		if c.Leaf != nil {
			parts = append(parts, fmt.Sprintf("%s until %s", Subject(c.Leaf), c.Leaf.NotAfter.UTC().Format("2006-01-02")))
		}
	}
	return strings.Join(parts, "; ")
}

// choose picks a certificate the client supports, preferring ECDSA (or
// Ed25519) to RSA when both are configured side by side; a client that
// supports none gets the first one and fails the handshake as it would.
func choose(hello *tls.ClientHelloInfo, certs []tls.Certificate) *tls.Certificate {
	for _, wantRSA := range []bool{false, true} {
		for i := range certs {
			_, isRSA := certs[i].PrivateKey.(*rsa.PrivateKey)
			if isRSA == wantRSA && (hello == nil || hello.SupportsCertificate(&certs[i]) == nil) {
				return &certs[i]
			}
		}
	}
	return &certs[0]
}
