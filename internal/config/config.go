package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/inetaddr"
)

// DefaultDir is where postern looks for main.cf and master.cf.
const DefaultDir = "/etc/postern"

// Dir returns the configuration directory: flag if set, else
// $POSTERN_CONFIG_DIR, else DefaultDir.
func Dir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("POSTERN_CONFIG_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

// Config answers parameter queries for one configuration directory:
// command-line overrides first, then main.cf, then the registry defaults.
type Config struct {
	Dir  string
	Main *MainFile
	// Overrides are command-line settings (postconf -o, and -c's
	// config_directory); they win over main.cf.
	Overrides map[string]string
	// DefaultsOnly ignores main.cf (postconf -d).
	DefaultsOnly bool
	// Hostname is the system hostname myhostname derives from.
	Hostname string
	// Sys is the host's interfaces and resolver.
	Sys inetaddr.System
	// Warn receives non-fatal problems found while answering queries.
	Warn func(msg string)
	// Reads, if set, is told every name looked up (Raw), references
	// included: `postern check` learns which parameters smtpd reads.
	Reads func(name string)

	computing map[string]bool
	dynCache  map[string]string
}

// Load reads DIR/main.cf. A missing main.cf is an error, as in Postfix.
func Load(dir string) (*Config, error) {
	f, err := ReadMainFile(filepath.Join(dir, "main.cf"))
	if err != nil {
		return nil, err
	}
	c := New(dir, f)
	if dir != DefaultDir {
		// As in Postfix, $config_directory is the directory actually read.
		c.Overrides["config_directory"] = dir
	}
	return c, nil
}

// New builds a Config around a parsed main.cf (nil means empty).
func New(dir string, f *MainFile) *Config {
	if f == nil {
		f = &MainFile{Path: filepath.Join(dir, "main.cf"), Values: map[string]Entry{}}
	}
	host, _ := os.Hostname()
	return &Config{Dir: dir, Main: f, Overrides: map[string]string{}, Hostname: host, Sys: inetaddr.Host}
}

func (c *Config) warn(format string, args ...any) {
	if c.Warn != nil {
		c.Warn(fmt.Sprintf(format, args...))
	}
}

// With returns a copy of c in which name has value, as a command-line
// override would set it; c is unchanged. The master uses it for
// Postfix's "-o stress=yes": a configuration is expanded once with and
// once without it, at load, so that a session only picks one.
func (c *Config) With(name, value string) *Config {
	d := *c
	d.Overrides = make(map[string]string, len(c.Overrides)+1)
	for k, v := range c.Overrides {
		d.Overrides[k] = v
	}
	d.Overrides[name] = value
	d.computing, d.dynCache = nil, nil // dynamic defaults may depend on name
	return &d
}

// WithAll returns a copy of c with every name in values overridden, as
// With does for one: a master.cf service's -o options (mastercf
// Service.Settings). The values stay raw: a $name in them expands
// against the copy, so it sees main.cf's parameters (user-defined ones
// too) and the other overrides, as Postfix's daemons expand -o values.
func (c *Config) WithAll(values map[string]string) *Config {
	d := *c
	d.Overrides = make(map[string]string, len(c.Overrides)+len(values))
	for k, v := range c.Overrides {
		d.Overrides[k] = v
	}
	for k, v := range values {
		d.Overrides[k] = v
	}
	d.computing, d.dynCache = nil, nil // dynamic defaults may depend on them
	return &d
}

// SetInMain reports whether name is assigned in main.cf (ignoring -d).
func (c *Config) SetInMain(name string) (Entry, bool) {
	e, ok := c.Main.Values[name]
	return e, ok && !c.DefaultsOnly
}

// Raw returns the unexpanded value of name and whether it is defined.
func (c *Config) Raw(name string) (string, bool) {
	if c.Reads != nil {
		c.Reads(name)
	}
	if v, ok := c.Overrides[name]; ok {
		return v, true
	}
	if e, ok := c.SetInMain(name); ok {
		return e.Value, true
	}
	return c.Default(name)
}

// Default returns name's built-in default (computed for dynamic ones).
func (c *Config) Default(name string) (string, bool) {
	p, ok := params[name]
	if !ok {
		return "", false
	}
	if p.Dynamic == nil {
		return p.Default, true
	}
	return c.dynamicDefault(p), true
}

func (c *Config) dynamicDefault(p *Param) string {
	if v, ok := c.dynCache[p.Name]; ok {
		return v
	}
	if c.computing[p.Name] {
		c.warn("default of %s depends on itself", p.Name)
		return ""
	}
	if c.computing == nil {
		c.computing, c.dynCache = map[string]bool{}, map[string]string{}
	}
	c.computing[p.Name] = true
	defer delete(c.computing, p.Name)
	v, err := p.Dynamic(c)
	if err != nil {
		c.warn("cannot compute the default %s: %v", p.Name, err)
	}
	c.dynCache[p.Name] = v
	return v
}

// Expander returns an expander over this configuration.
func (c *Config) Expander() *Expander {
	return &Expander{Lookup: c.Raw, Recurse: true}
}

// Get returns the expanded value of name. An undefined name is "".
func (c *Config) Get(name string) (string, error) {
	raw, _ := c.Raw(name)
	var msgs []string
	e := c.Expander()
	e.Warn = func(m string) { msgs = append(msgs, m) }
	v, err := e.Expand(raw)
	if err != nil {
		if len(msgs) > 0 {
			err = fmt.Errorf("%s: %w", strings.Join(msgs, "; "), err)
		}
		return "", fmt.Errorf("parameter %s: %w", name, err)
	}
	return v, nil
}

// Bool returns a yes/no parameter.
func (c *Config) Bool(name string) (bool, error) {
	v, err := c.Get(name)
	if err != nil {
		return false, err
	}
	b, err := ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parameter %s: %w", name, err)
	}
	return b, nil
}

// Int returns an integer parameter, checked against its minimum.
func (c *Config) Int(name string) (int64, error) {
	v, err := c.Get(name)
	if err != nil {
		return 0, err
	}
	n, err := ParseInt(v)
	if err == nil {
		err = checkMin(name, n, "")
	}
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return n, nil
}

// Duration returns a time parameter.
func (c *Config) Duration(name string) (time.Duration, error) {
	v, err := c.Get(name)
	if err != nil {
		return 0, err
	}
	unit := byte('s')
	if p, ok := params[name]; ok && p.Unit != 0 {
		unit = p.Unit
	}
	n, err := ParseTime(v, unit)
	if err == nil {
		err = checkMin(name, n, "s")
	}
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return time.Duration(n) * time.Second, nil
}

// List returns a list parameter split into its elements.
func (c *Config) List(name string) ([]string, error) {
	v, err := c.Get(name)
	if err != nil {
		return nil, err
	}
	return Fields(v), nil
}

func checkMin(name string, n int64, unit string) error {
	p, ok := params[name]
	if ok && p.HasMin && n < p.Min {
		return fmt.Errorf("value %d%s is below the minimum %d%s", n, unit, p.Min, unit)
	}
	return nil
}

// Protocols returns the parsed inet_protocols.
func (c *Config) Protocols() (inetaddr.Protocols, error) {
	v, err := c.Get("inet_protocols")
	if err != nil {
		return inetaddr.Protocols{}, err
	}
	p, err := inetaddr.ParseProtocols(v)
	if err != nil {
		return p, fmt.Errorf("parameter inet_protocols: %w", err)
	}
	return p, nil
}

// InetAddrs resolves inet_interfaces to this host's addresses.
func (c *Config) InetAddrs(ctx context.Context) ([]inetaddr.IfAddr, error) {
	return c.resolveInterfaces(ctx, "inet_interfaces")
}

func (c *Config) resolveInterfaces(ctx context.Context, name string) ([]inetaddr.IfAddr, error) {
	p, err := c.Protocols()
	if err != nil {
		return nil, err
	}
	v, err := c.Get(name)
	if err != nil {
		return nil, err
	}
	freebind, _ := c.Bool("inet_interfaces_freebind")
	if name != "inet_interfaces" {
		freebind = false
	}
	addrs, err := inetaddr.ResolveFree(ctx, v, p, c.Sys, freebind)
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %w", name, err)
	}
	return addrs, nil
}

// Location says where name's value comes from: "FILE:LINE", or "default".
func (c *Config) Location(name string) (file string, line int) {
	if e, ok := c.SetInMain(name); ok {
		return c.Main.Path, e.Line
	}
	return c.Main.Path, 0
}

// Implemented reports whether postern implements name.
func Implemented(name string) bool { _, ok := params[name]; return ok }
