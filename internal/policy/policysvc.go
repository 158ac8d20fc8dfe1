package policy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/policyclient"
)

// policyServices are check_policy_service's defaults (the
// smtpd_policy_service_* parameters) and one client per service
// argument, whose connection pool every session of this Policy shares.
type policyServices struct {
	def      serviceSettings
	queueDir string
	// now, when set, is the pools' clock (tests).
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*service
}

type serviceSettings struct {
	opt           policyclient.Options
	defaultAction string
	context       string
}

type service struct {
	client *policyclient.Client
	set    serviceSettings
}

func (s *policyServices) read(cfg *config.Config) error {
	var err error
	d := &s.def
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"smtpd_policy_service_timeout", &d.opt.Timeout}, {"smtpd_policy_service_max_idle", &d.opt.MaxIdle},
		{"smtpd_policy_service_max_ttl", &d.opt.MaxTTL}, {"smtpd_policy_service_retry_delay", &d.opt.RetryDelay},
	}
	for _, x := range durations {
		if *x.dst, err = cfg.Duration(x.name); err != nil {
			return err
		}
	}
	var n int64
	if n, err = cfg.Int("smtpd_policy_service_try_limit"); err != nil {
		return err
	}
	d.opt.TryLimit = int(n)
	if n, err = cfg.Int("smtpd_policy_service_request_limit"); err != nil {
		return err
	}
	d.opt.RequestLimit = int(n)
	if d.defaultAction, err = cfg.Get("smtpd_policy_service_default_action"); err != nil {
		return err
	}
	if d.context, err = cfg.Get("smtpd_policy_service_policy_context"); err != nil {
		return err
	}
	s.queueDir, err = cfg.Get("queue_directory")
	return err
}

// ParseService splits a check_policy_service argument: an endpoint, or
// Postfix's per-restriction form "{ inet:host:port, timeout=10s,
// default_action=DUNNO }" whose settings override the
// smtpd_policy_service_* defaults def (timeout, max_idle, max_ttl,
// try_limit, retry_delay, default_action, request_limit,
// policy_context).
func parseService(arg string, def serviceSettings) (endpoint string, set serviceSettings, err error) {
	set = def
	arg = strings.TrimSpace(arg)
	// The list parser strips the outer braces: a block is an argument
	// with a separator, which an endpoint never has.
	if strings.HasPrefix(arg, "{") {
		if !strings.HasSuffix(arg, "}") {
			return "", set, fmt.Errorf("check_policy_service %s: missing '}'", arg)
		}
		arg = arg[1 : len(arg)-1]
	} else if !strings.ContainsAny(arg, ", \t\r\n") {
		return arg, set, nil
	}
	fields := config.Fields(arg)
	if len(fields) == 0 {
		return "", set, fmt.Errorf("check_policy_service { %s }: no service endpoint", arg)
	}
	endpoint = fields[0]
	for _, f := range fields[1:] {
		f = strings.TrimSpace(f)
		if strings.HasPrefix(f, "{") && strings.HasSuffix(f, "}") {
			f = strings.TrimSpace(f[1 : len(f)-1])
		}
		name, value, ok := strings.Cut(f, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.HasPrefix(value, "{") && strings.HasSuffix(value, "}") {
			value = strings.TrimSpace(value[1 : len(value)-1])
		}
		if !ok {
			return "", set, fmt.Errorf("check_policy_service %s: %q: expected name=value", endpoint, f)
		}
		if err := set.apply(name, value); err != nil {
			return "", set, fmt.Errorf("check_policy_service %s: %s: %w", endpoint, name, err)
		}
	}
	return endpoint, set, nil
}

func (s *serviceSettings) apply(name, value string) error {
	dur := func(dst *time.Duration) error {
		n, err := config.ParseTime(value, 's')
		if err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("value %q is below the minimum 1s", value)
		}
		*dst = time.Duration(n) * time.Second
		return nil
	}
	num := func(dst *int, min int64) error {
		n, err := config.ParseInt(value)
		if err != nil {
			return err
		}
		if n < min {
			return fmt.Errorf("value %d is below the minimum %d", n, min)
		}
		*dst = int(n)
		return nil
	}
	switch name {
	case "timeout":
		return dur(&s.opt.Timeout)
	case "max_idle":
		return dur(&s.opt.MaxIdle)
	case "max_ttl":
		return dur(&s.opt.MaxTTL)
	case "retry_delay":
		return dur(&s.opt.RetryDelay)
	case "try_limit":
		return num(&s.opt.TryLimit, 1)
	case "request_limit":
		return num(&s.opt.RequestLimit, 0)
	case "default_action":
		if value == "" {
			return fmt.Errorf("empty value")
		}
		s.defaultAction = value
		return nil
	case "policy_context":
		s.context = value
		return nil
	}
	return fmt.Errorf("unknown attribute (expected timeout, max_idle, max_ttl, try_limit, retry_delay, default_action, request_limit or policy_context)")
}

// CheckService validates a check_policy_service argument for postern
// check: the endpoint form and the per-restriction settings.
func CheckService(arg string) error {
	endpoint, _, err := parseService(arg, serviceSettings{})
	if err != nil {
		return err
	}
	_, _, err = policyclient.Endpoint(endpoint, "/")
	return err
}

// service returns the client of a check_policy_service argument,
// creating it (and its pool) on first use.
func (p *Policy) service(arg string) (*service, error) {
	s := &p.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc, ok := s.clients[arg]; ok {
		return svc, nil
	}
	endpoint, set, err := parseService(arg, s.def)
	if err != nil {
		return nil, err
	}
	network, addr, err := policyclient.Endpoint(endpoint, s.queueDir)
	if err != nil {
		return nil, err
	}
	set.opt.Now, set.opt.Name = s.now, endpoint
	svc := &service{client: policyclient.New(network, addr, set.opt), set: set}
	if s.clients == nil {
		s.clients = map[string]*service{}
	}
	s.clients[arg] = svc
	return svc, nil
}

// Close closes the policy services' pooled connections.
func (p *Policy) Close() {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	for _, svc := range p.svc.clients {
		svc.client.Close()
	}
}

// checkPolicyService is check_policy_service: the request goes to the
// policy server and its action is applied as an access table result
// would be. A server that cannot answer (after try_limit attempts)
// gives the default action, as Postfix's "problem talking to server".
func checkPolicyService(ctx context.Context, p *Policy, e *eval, arg string) Verdict {
	svc, err := p.service(arg)
	if err != nil {
		p.warn("%v", err)
		return serverConfigError
	}
	ans, err := svc.client.Query(ctx, policyAttrs(e, svc.set.context))
	if err != nil {
		p.warn("problem talking to server %s", err)
		return p.accessResult(ctx, e, e.st, strings.TrimSpace(svc.set.defaultAction))
	}
	// The text reaches the client in our reply: control characters
	// become '?', as Postfix's printable() makes them.
	action := strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, ans["action"]))
	if action == "" {
		p.warn("policy server %s: empty action: using the default action", svc.client)
		action = strings.TrimSpace(svc.set.defaultAction)
	}
	return p.accessResult(ctx, e, e.st, action)
}

// stateNames: protocol_state when the session does not say (the list's
// own command).
var stateNames = map[Stage]string{Client: "CONNECT", Helo: "EHLO", Sender: "MAIL", Recipient: "RCPT",
	Data: "DATA", EndOfData: "END-OF-MESSAGE", Etrn: "ETRN", clientCert: "CONNECT"}

// policyAttrs is the request, with Postfix 3.7's attributes in the
// order of SMTPD_POLICY_README.
func policyAttrs(e *eval, policyContext string) []policyclient.Attr {
	r := e.req
	get := func(name, def string) policyclient.Attr {
		if r.Session != nil {
			if v, ok := r.Session(name); ok {
				return policyclient.Attr{Name: name, Value: v}
			}
		}
		return policyclient.Attr{Name: name, Value: def}
	}
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	var subject, issuer, fp, pkfp string
	if c := r.CCert; c != nil {
		subject, issuer, fp, pkfp = c.CN, c.Issuer, c.Fingerprint, c.PublicKeyFingerprint
	}
	client := ""
	if r.ClientAddr.IsValid() {
		client = r.ClientAddr.Unmap().WithZone("").String()
	}
	return []policyclient.Attr{
		{Name: "request", Value: "smtpd_access_policy"},
		get("protocol_state", stateNames[e.st]),
		get("protocol_name", "SMTP"),
		{Name: "helo_name", Value: r.Helo},
		get("queue_id", ""),
		{Name: "sender", Value: r.Sender},
		get("recipient", r.Recipient),
		get("recipient_count", "0"),
		{Name: "client_address", Value: client},
		{Name: "client_name", Value: unknown(r.ClientName)},
		{Name: "reverse_client_name", Value: unknown(r.ReverseName)},
		get("instance", ""),
		{Name: "sasl_method", Value: r.SASLMethod},
		{Name: "sasl_username", Value: r.SASLUser},
		get("sasl_sender", ""),
		get("size", "0"),
		{Name: "ccert_subject", Value: subject},
		{Name: "ccert_issuer", Value: issuer},
		{Name: "ccert_fingerprint", Value: fp},
		{Name: "ccert_pubkey_fingerprint", Value: pkfp},
		get("encryption_protocol", ""),
		get("encryption_cipher", ""),
		get("encryption_keysize", "0"),
		get("etrn_domain", ""),
		get("stress", ""),
		get("client_port", "0"),
		{Name: "policy_context", Value: policyContext},
		get("server_address", ""),
		get("server_port", "0"),
	}
}
