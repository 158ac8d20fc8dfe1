package config

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// decisionsFile records what postern does with every parameter of
// Postfix 3.7's `postconf -d`.
const decisionsFile = "testdata/postfix-3.7-params.txt"

// perTransportSuffixes are the parameters Postfix defines for every
// master.cf service (<service>_<suffix>), not statically.
var perTransportSuffixes = []string{
	"delivery_slot_cost", "delivery_slot_discount", "delivery_slot_loan",
	"destination_concurrency_failed_cohort_limit", "destination_concurrency_limit",
	"destination_concurrency_negative_feedback", "destination_concurrency_positive_feedback",
	"destination_rate_delay", "destination_recipient_limit", "extra_recipient_limit",
	"initial_destination_concurrency", "minimum_delivery_slots", "recipient_limit",
	"recipient_refill_delay", "recipient_refill_limit", "time_limit", "transport_rate_delay",
}

func perTransport(name string) bool {
	for _, s := range perTransportSuffixes {
		if svc, ok := strings.CutSuffix(name, "_"+s); ok && svc != "" && svc != "default" {
			return true
		}
	}
	return false
}

type decision struct{ what, reason string }

func readDecisions(t *testing.T) map[string]decision {
	t.Helper()
	data, err := os.ReadFile(decisionsFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decision{}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == "" {
			t.Errorf("%s:%d: want name<TAB>decision<TAB>reason: %q", decisionsFile, i+1, line)
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("%s:%d: %s decided twice", decisionsFile, i+1, f[0])
		}
		out[f[0]] = decision{f[1], f[2]}
	}
	return out
}

// Every Postfix 3.7 parameter has a deliberate decision, and the registry
// and the parameter states agree with it.
func TestPostfixParamDecisions(t *testing.T) {
	dec := readDecisions(t)
	for _, n := range PostfixNames() {
		if _, ok := dec[n]; !ok {
			t.Errorf("%s: Postfix parameter without a decision in %s", n, decisionsFile)
		}
	}
	for n, d := range dec {
		if !KnownToPostfix(n) {
			t.Errorf("%s: decided, but not in postfix-parameters.txt", n)
		}
		_, listed := Lookup(n)
		st := StateOf(n).State
		switch d.what {
		case "implemented":
			if !listed || st != StateImplemented {
				t.Errorf("%s: decided implemented, but registry %v, state %s", n, listed, st)
			}
		case "known":
			if !listed || st == StateImplemented || st == StateUnknown {
				t.Errorf("%s: decided known (registry, not applied), but registry %v, state %s", n, listed, st)
			}
		case "refused":
			if listed || st != StateRefused {
				t.Errorf("%s: decided refused (not in the registry), but registry %v, state %s", n, listed, st)
			}
		case "n/a":
			if listed || (st != StateNoEffect && st != StateUnimplemented) {
				t.Errorf("%s: decided n/a, but registry %v, state %s", n, listed, st)
			}
		case "per-transport":
			if listed || !perTransport(n) {
				t.Errorf("%s: decided per-transport, but registry %v, pattern %v", n, listed, perTransport(n))
			}
		default:
			t.Errorf("%s: unknown decision %q", n, d.what)
		}
		if st == StateUnimplemented && SecurityRelevant(n) {
			t.Errorf("%s: security-relevant, only warned about", n)
		}
	}
}

// The real postconf's list: every name it prints has a decision (a
// service's own parameters by pattern, master.cf varies), and every
// registry default is Postfix's but where postern differs on purpose.
func TestPostfixParamDecisionsLive(t *testing.T) {
	postconf, err := exec.LookPath("postconf")
	if err != nil {
		postconf = "/usr/sbin/postconf"
		if _, err := os.Stat(postconf); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("postconf is not installed (scripts/install-test-deps)")
			}
			t.Skip("postconf (Debian package postfix) is not installed")
		}
	}
	dec := readDecisions(t)
	empty := t.TempDir()
	for _, f := range []string{"main.cf", "master.cf"} {
		if err := os.WriteFile(filepath.Join(empty, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"-d"}, {"-c", empty, "-d"}} {
		cmd := exec.Command(postconf, args...)
		cmd.Env = append(os.Environ(), "LANG=C")
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("postconf %v: %v", args, err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			name, value, _ := strings.Cut(line, " =")
			value = strings.TrimPrefix(value, " ")
			if _, ok := dec[name]; !ok && !perTransport(name) {
				t.Errorf("postconf %v: %s = %s: no decision in %s", args, name, value, decisionsFile)
			}
			p, listed := Lookup(name)
			if _, differs := DifferFromPostfix[name]; !listed || differs || p.Dynamic != nil {
				continue
			}
			if p.Default != value {
				t.Errorf("%s: registry default %q, Postfix's %q", name, p.Default, value)
			}
		}
	}
}

// The parameters issue 18 names are known with Postfix's default, and
// those postern does not apply keep an honest state.
func TestIssue18ParamsKnown(t *testing.T) {
	for _, tc := range []struct {
		name, def, value string
		state            State
		harmless         bool
	}{
		{"append_at_myorigin", "yes", "no", StateImplemented, true},
		{"virtual_alias_domains", "$virtual_alias_maps", "", StateImplemented, true},
		{"relay_recipient_maps", "", "", StateImplemented, true},
		{"smtpd_reject_unlisted_sender", "no", "", StateImplemented, true},
		{"unknown_virtual_alias_reject_code", "550", "", StateImplemented, true},
		{"unverified_recipient_reject_code", "450", "550", StateUnimplemented, true},
		{"unverified_sender_reject_code", "450", "550", StateUnimplemented, true},
		{"plaintext_reject_code", "450", "550", StateUnimplemented, true},
		{"multi_recipient_bounce_reject_code", "550", "554", StateUnimplemented, true},
		{"hash_queue_names", "deferred, defer", "incoming", StateNoEffect, true},
		{"hash_queue_depth", "1", "2", StateNoEffect, true},
		{"default_database_type", "hash", "lmdb", StateNoEffect, true},
		{"smtpd_tls_wrappermode", "no", "yes", StateImplemented, true},
		{"smtpd_sasl_auth_enable", "no", "yes", StateImplemented, true},
		{"smtpd_authorized_xclient_hosts", "", "127.0.0.1", StateRefused, false},
		{"mailbox_command_maps", "", "hash:/etc/postfix/cmds", StateRefused, false},
		{"header_checks", "", "regexp:/etc/postfix/header_checks", StateRefused, false},
	} {
		p, ok := Lookup(tc.name)
		if !ok {
			t.Errorf("%s: unknown to postern conf -d", tc.name)
			continue
		}
		if p.Default != tc.def {
			t.Errorf("%s: default %q, want %q", tc.name, p.Default, tc.def)
		}
		st := StateOf(tc.name)
		if st.State != tc.state || st.Harmless(tc.name, tc.value) != tc.harmless {
			t.Errorf("%s = %s: state %s harmless %v, want %s %v", tc.name, tc.value, st.State, st.Harmless(tc.name, tc.value), tc.state, tc.harmless)
		}
	}
}

// Every registry name has one entry: a parameter another part implements
// must leave postfix37Params (where it would stay "not applied").
func TestRegistryNoDuplicates(t *testing.T) {
	if len(duplicateParams) > 0 {
		t.Errorf("registry entries defined twice: %v", duplicateParams)
	}
}
