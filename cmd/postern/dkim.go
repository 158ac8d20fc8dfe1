package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"github.com/postern-mta/postern/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/dkim"
	"github.com/postern-mta/postern/internal/dkimsign"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/resolver"
)

const dkimUsage = "usage: postern dkim keygen [-c DIR] [-t rsa|ed25519] [-b BITS] DOMAIN SELECTOR\n" +
	"       postern dkim check [-c DIR] DOMAIN"

// runDKIM is `postern dkim`: keygen writes a signing key and says what to
// publish and configure; check compares the published records with the
// keys of dkim_signing_maps.
func runDKIM(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 3 && args[0] == "-c" { // postern dkim -c DIR keygen ...
		args = append([]string{args[2], "-c", args[1]}, args[3:]...)
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, dkimUsage)
		return 64
	}
	switch args[0] {
	case "keygen":
		return runDKIMKeygen(args[1:], stdout, stderr)
	case "check":
		return runDKIMCheck(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, dkimUsage)
	return 64
}

func runDKIMKeygen(args []string, stdout, stderr io.Writer) int {
	flags, dirFlag := daemonFlags("dkim keygen", stderr)
	typ := flags.String("t", "rsa", "key `type`: rsa or ed25519")
	bits := flags.Int("b", dkim.DefaultRSABits, "RSA key size in `bits`")
	flags.Usage = func() { fmt.Fprintln(stderr, dkimUsage); flags.PrintDefaults() }
	if flags.Parse(args) != nil {
		return 64
	}
	if flags.NArg() != 2 {
		flags.Usage()
		return 64
	}
	domain := strings.TrimSuffix(strings.ToLower(flags.Arg(0)), ".")
	selector := flags.Arg(1)
	if !dkimsign.ValidSelector(domain) || !strings.Contains(domain, ".") {
		return usageErr(stderr, "bad domain %q", flags.Arg(0))
	}
	if !dkimsign.ValidSelector(selector) {
		return usageErr(stderr, "bad selector %q: letters, digits, '-', '_' and '.' only", selector)
	}
	alg := dkim.Algorithm(*typ)
	switch alg {
	case dkim.RSA:
	case dkim.Ed25519:
		if isSet(flags, "b") {
			return usageErr(stderr, "-b is for RSA keys: Ed25519 keys have one size")
		}
		*bits = 0
	default:
		return usageErr(stderr, "-t %s: want rsa or ed25519", *typ)
	}
	if alg == dkim.RSA && *bits < 1024 {
		return usageErr(stderr, "-b %d: RSA keys of less than 1024 bits are not accepted (RFC 8301); 2048 is the default", *bits)
	}
	cfg, err := config.Load(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	keyDir, err := master.DKIMKeyDirectory(cfg)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	uid, gid, err := mailOwnerIDs(cfg)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	file := domain + "." + selector + ".key"
	path := filepath.Join(keyDir, file)
	if _, err := os.Lstat(path); err == nil {
		return fatalf(stderr, "%s exists: a published key is not replaced; choose another selector (keys are rotated by selector)", path)
	}
	key, err := dkim.GenerateKey(alg, *bits)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	pem, err := dkim.MarshalPrivateKey(key)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	record, err := dkim.TXTRecord(key.Public())
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if err := writeNewKey(keyDir, path, pem, uid, gid); err != nil {
		return fatalf(stderr, "%v", err)
	}
	size := "Ed25519"
	if k, ok := key.(*rsa.PrivateKey); ok {
		size = fmt.Sprintf("RSA, %d bits", k.N.BitLen())
	}
	fmt.Fprintf(stdout, "postern dkim: wrote %s (%s)\n\n", path, size)
	fmt.Fprintf(stdout, "Publish this TXT record in the DNS zone of %s:\n\n%s\n\n", domain, dkim.ZoneLine(selector, domain, record))
	entry := domain + " " + selector + ":" + file
	if old := existingEntry(cfg, domain); old != "" {
		entry = domain + " " + old + ", " + selector + ":" + file // dual signing: the other key stays
	}
	specs, _ := cfg.List("dkim_signing_maps")
	if len(specs) == 0 {
		table := filepath.Join(cfg.Dir, "dkim_signing")
		fmt.Fprintf(stdout, "Then add this line to the table %s:\n\n%s\n\nand set in main.cf:\n\ndkim_signing_maps = texthash:%s\n\n", table, entry, table)
	} else {
		fmt.Fprintf(stdout, "Then put this line in dkim_signing_maps (%s):\n\n%s\n\n", strings.Join(specs, ", "), entry)
	}
	fmt.Fprintf(stdout, "and run \"postern reload\" once the record is published (\"postern dkim check %s\" tells).\n", domain)
	return 0
}

func usageErr(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "postern dkim: "+format+"\n", args...)
	return 64
}

// mailOwnerIDs is who owns keys: mail_owner, which reads them again at
// reload. -1 when not root (the file stays this user's).
func mailOwnerIDs(cfg *config.Config) (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil
	}
	name, err := cfg.Get("mail_owner")
	if err != nil {
		return 0, 0, err
	}
	u, err := diraccess.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("mail_owner %s: %v: the key would not be readable by postern", name, err)
	}
	return u.UID, u.GID, nil
}

// writeNewKey writes a key as path, mode 0600, owned by uid:gid (-1:
// unchanged), never replacing an existing file (atomicfile.CreateOwned). The
// directory is made (0750, the same owner) when missing.
func writeNewKey(dir, path string, data []byte, uid, gid int) error {
	if err := os.Mkdir(dir, 0o750); err == nil {
		if uid >= 0 {
			if err := os.Chown(dir, uid, gid); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := atomicfile.CreateOwned(path, data, 0o600, uid, gid); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: a published key is not replaced; choose another selector", path)
		}
		return err
	}
	return nil
}

// existingEntry returns the value of domain's own entry, if any.
func existingEntry(cfg *config.Config, domain string) string {
	tables, err := master.DKIMSigningTables(cfg)
	if err != nil {
		return ""
	}
	v, _, _ := maps.Query(domain, tables...)
	return v
}

func runDKIMCheck(args []string, stdout, stderr io.Writer) int {
	flags, dirFlag := daemonFlags("dkim check", stderr)
	flags.Usage = func() { fmt.Fprintln(stderr, dkimUsage); flags.PrintDefaults() }
	if flags.Parse(args) != nil {
		return 64
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return 64
	}
	domain := strings.TrimSuffix(strings.ToLower(flags.Arg(0)), ".")
	cfg, err := config.Load(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	keyDir, err := master.DKIMKeyDirectory(cfg)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	tables, err := master.DKIMSigningTables(cfg)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if len(tables) == 0 {
		return fatalf(stderr, "dkim_signing_maps is empty: nothing is signed (see \"postern dkim keygen\")")
	}
	signDomain, value, found, err := dkimsign.Lookup(tables, domain)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if !found {
		return fatalf(stderr, "%s has no entry in dkim_signing_maps: its mail is not signed", domain)
	}
	if signDomain != domain {
		fmt.Fprintf(stdout, "%s is signed as %s (d=%s)\n", domain, signDomain, signDomain)
	}
	refs, err := dkimsign.ParseValue(value, keyDir)
	if err != nil {
		return fatalf(stderr, "dkim_signing_maps entry %s: %v", signDomain, err)
	}
	r := resolver.New()
	status := 0
	for _, ref := range refs {
		key, err := dkimsign.LoadKey(ref.File)
		if err != nil {
			fmt.Fprintf(stdout, "%s._domainkey.%s: cannot check: %v\n", ref.Selector, signDomain, err)
			status = 1
			continue
		}
		p := dkimsign.CheckPublished(context.Background(), r, signDomain, ref.Selector, key.Public())
		line := p.Name + ": " + p.Status.String()
		if p.Detail != "" {
			line += ": " + p.Detail
		}
		fmt.Fprintln(stdout, line)
		if p.Status == dkimsign.Matches {
			continue
		}
		status = 1
		if p.Status != dkimsign.DNSError {
			if rec, err := dkim.TXTRecord(key.Public()); err == nil {
				fmt.Fprintf(stdout, "  publish: %s\n", dkim.ZoneLine(ref.Selector, signDomain, rec))
			}
		}
	}
	return status
}
