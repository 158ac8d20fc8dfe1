// Package dkimsign is DKIM signing as a content stage (internal/cleanup),
// run once before a message is queued, so that the queue file holds the
// signed message and a retry never signs again.
//
// What is signed: mail we send (cleanup.Origin.Trusted: $mynetworks,
// authenticated clients, sendmail/pickup) whose From: domain, or a
// parent domain of it (looked up from the full domain upwards), has an
// entry in dkim_signing_maps. The entry's key is d=; its value is one or
// two "selector:keyfile" (ParseValue), two for dual RSA + Ed25519
// signing. Mail with no From:, several From: fields, or a From: that
// does not parse is not signed (logged at info level), nor is it signed
// again with a key whose d= and s= a DKIM-Signature of the message
// already has (mail that comes back, signed, through a content filter).
//
// Keys are loaded when the configuration is (New, at start and reload)
// and kept: every entry of a table that can be listed is checked then,
// and a bad value or key file is a configuration error (Check, also run
// by `postern check`). Pattern tables (regexp:, pcre:) cannot be listed:
// their keys are loaded on first use. A signing failure refuses the
// message with a temporary error (451 4.7.0): mail is never queued
// unsigned in silence.
package dkimsign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/dkim"
	"github.com/postern-mta/postern/internal/maps"
)

// TempFailReply answers a message that could not be signed.
const TempFailReply = "451 4.7.0 Error: DKIM signing failed; try again later"

// Stage signs messages; it is a cleanup.Stage.
type Stage struct {
	tables []maps.Table
	keyDir string
	keys   sync.Map // key file path -> crypto.Signer
	signer sync.Map // domain "\x00" value -> *entry
	log    atomic.Pointer[slog.Logger]
}

// entry is a table entry ready to sign with.
type entry struct {
	signer    *dkim.Signer
	selectors []string
	keys      []dkim.Key // in selectors' order, for a signer of some of them
}

// Problem is a bad entry of dkim_signing_maps.
type Problem struct {
	Table, Domain string
	Err           error
}

func (p Problem) Error() string {
	return fmt.Sprintf("dkim_signing_maps table %s, entry %s: %v", p.Table, p.Domain, p.Err)
}

// New loads every key of tables (dkim_signing_maps; keyDir is
// dkim_key_directory) and returns the stage, or every problem found.
func New(tables []maps.Table, keyDir string) (*Stage, error) {
	s := &Stage{tables: tables, keyDir: keyDir}
	s.log.Store(slog.New(slog.DiscardHandler))
	var errs []error
	for _, p := range s.check() {
		errs = append(errs, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Check loads every entry of the tables that can be listed, as New does,
// and returns the problems found and the tables that could not be listed
// (their entries are checked when used).
func Check(tables []maps.Table, keyDir string) (problems []Problem, unlisted []string) {
	s := &Stage{tables: tables, keyDir: keyDir}
	for _, t := range tables {
		if listed, _ := maps.Each(t, func(string, string) error { return nil }); !listed {
			unlisted = append(unlisted, t.Name())
		}
	}
	return s.check(), unlisted
}

func (s *Stage) check() []Problem {
	var problems []Problem
	for _, t := range s.tables {
		_, err := maps.Each(t, func(domain, value string) error {
			if _, err := s.entry(domain, value); err != nil {
				problems = append(problems, Problem{Table: t.Name(), Domain: domain, Err: err})
			}
			return nil
		})
		if err != nil {
			problems = append(problems, Problem{Table: t.Name(), Domain: "(all)", Err: err})
		}
	}
	return problems
}

// SetLog sets where signatures and failures are logged (the daemon gives
// postern/cleanup).
func (s *Stage) SetLog(l *slog.Logger) { s.log.Store(l) }

// entry returns the signer of a table entry, built once.
func (s *Stage) entry(domain, value string) (*entry, error) {
	ck := domain + "\x00" + value
	if e, ok := s.signer.Load(ck); ok {
		return e.(*entry), nil
	}
	if !ValidSelector(domain) {
		return nil, fmt.Errorf("bad signing domain %q", domain)
	}
	refs, err := ParseValue(value, s.keyDir)
	if err != nil {
		return nil, err
	}
	e := &entry{}
	var keys []dkim.Key
	var algs []dkim.Algorithm
	for _, r := range refs {
		key, err := s.key(r.File)
		if err != nil {
			return nil, fmt.Errorf("selector %s: %w", r.Selector, err)
		}
		alg, err := dkim.KeyAlgorithm(key.Public())
		if err != nil {
			return nil, fmt.Errorf("selector %s: key file %s: %w", r.Selector, r.File, err)
		}
		if len(algs) == 1 && algs[0] == alg {
			return nil, fmt.Errorf("two %s keys (%s, %s): dual signing takes one RSA and one Ed25519 key", alg, refs[0].File, r.File)
		}
		algs = append(algs, alg)
		keys = append(keys, dkim.Key{Selector: r.Selector, Signer: key})
		e.selectors = append(e.selectors, r.Selector)
	}
	e.keys = keys
	if e.signer, err = dkim.NewSigner(domain, keys...); err != nil {
		return nil, err
	}
	s.signer.Store(ck, e)
	return e, nil
}

func (s *Stage) key(path string) (crypto.Signer, error) {
	if k, ok := s.keys.Load(path); ok {
		return k.(crypto.Signer), nil
	}
	k, err := LoadKey(path)
	if err != nil {
		return nil, err
	}
	s.keys.Store(path, k)
	return k, nil
}

// Lookup finds the entry for a From: domain: the domain itself, then
// each parent domain, each in every table in turn. Pattern tables are
// asked for the full domain only (as the access(5) parent-domain search
// does). It returns the signing domain (the entry's key) and the value.
func Lookup(tables []maps.Table, domain string) (signDomain, value string, found bool, err error) {
	for d := domain; d != ""; {
		for _, t := range tables {
			if d != domain && maps.IsPattern(t) {
				continue
			}
			v, ok, err := t.Lookup(d)
			if err != nil {
				return "", "", false, err
			}
			if ok {
				return d, v, true, nil
			}
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = parent
	}
	return "", "", false, nil
}

// Apply signs m when it is ours and its From: domain has a key.
func (s *Stage) Apply(ctx context.Context, m *cleanup.Message) cleanup.Verdict {
	if !m.Origin.Trusted() {
		return cleanup.Verdict{}
	}
	log := s.log.Load()
	id := "NOQUEUE"
	if m.Env != nil && m.Env.ID != "" {
		id = m.Env.ID
	}
	from, err := FromDomain(&m.Header)
	if err != nil {
		log.Info(fmt.Sprintf("%s: not DKIM-signed: %v", id, err))
		return cleanup.Verdict{}
	}
	domain, value, found, err := Lookup(s.tables, from)
	if err != nil {
		return s.fail(log, id, fmt.Errorf("dkim_signing_maps lookup of %s: %w", from, err))
	}
	if !found {
		return cleanup.Verdict{}
	}
	e, err := s.entry(domain, value)
	if err != nil {
		return s.fail(log, id, fmt.Errorf("dkim_signing_maps entry %s: %w", domain, err))
	}
	signer, selectors := e.signer, e.selectors
	if done := signedBy(&m.Header); done != nil {
		var keys []dkim.Key
		for _, k := range e.keys {
			if done[pairKey(domain, k.Selector)] {
				log.Info(fmt.Sprintf("%s: not DKIM-signed again (s=%s, d=%s): the message already has a DKIM-Signature with this d= and s=", id, k.Selector, domain))
			} else {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return cleanup.Verdict{}
		}
		if len(keys) < len(e.keys) {
			if signer, err = dkim.NewSigner(domain, keys...); err != nil {
				return s.fail(log, id, err)
			}
			selectors = nil
			for _, k := range keys {
				selectors = append(selectors, k.Selector)
			}
		}
	}
	sig, err := signer.Sign(m.Content())
	if err != nil {
		return s.fail(log, id, err)
	}
	// sig is one "DKIM-Signature: ...\r\n" field per key: the first
	// ends up on top.
	fields := strings.Split(sig, "DKIM-Signature: ")[1:]
	for i := len(fields) - 1; i >= 0; i-- {
		m.Header.Prepend("DKIM-Signature", strings.TrimSuffix(fields[i], "\r\n"))
	}
	for _, sel := range selectors {
		log.Info(fmt.Sprintf("%s: DKIM-Signature field added (s=%s, d=%s)", id, sel, domain))
	}
	return cleanup.Verdict{}
}

func (s *Stage) fail(log *slog.Logger, id string, err error) cleanup.Verdict {
	log.Warn(fmt.Sprintf("%s: DKIM signing failed: %v: the client is told to try again later", id, err))
	return cleanup.Verdict{Action: cleanup.Reject, Reply: TempFailReply, Reason: "DKIM signing failed: " + err.Error(), Source: "dkim"}
}
