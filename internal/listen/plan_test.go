package listen

import (
	"context"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/mastercf"
)

func plan(t *testing.T, mainCf, masterCf string) ([]Socket, error) {
	t.Helper()
	cfg := config.New("/etc/postern", config.ParseMain("main.cf", mainCf))
	cfg.Sys = inetaddrtest.Standard()
	f, diags := mastercf.Parse("master.cf", masterCf)
	for _, d := range diags {
		if d.Severity == config.Error {
			t.Fatalf("master.cf: %s", d)
		}
	}
	return Plan(context.Background(), cfg, f.Services)
}

func TestPlan(t *testing.T) {
	const smtp = "smtp inet n - n - - smtpd\n"
	tests := []struct {
		name, main, master, want string
	}{
		{"all", "", smtp, "smtp 0.0.0.0:25, smtp [::]:25"},
		{"all ipv4", "inet_protocols = ipv4", smtp, "smtp 0.0.0.0:25"},
		{"all ipv6", "inet_protocols = ipv6", smtp, "smtp [::]:25"},
		{"no protocols", "inet_protocols =", smtp, ""},
		{"loopback-only", "inet_interfaces = loopback-only", smtp, "smtp 127.0.0.1:25, smtp [::1]:25"},
		{"loopback-only ipv4", "inet_interfaces = loopback-only\ninet_protocols = ipv4", smtp, "smtp 127.0.0.1:25"},
		{"addresses", "inet_interfaces = 192.0.2.10, [::1]", smtp, "smtp 192.0.2.10:25, smtp [::1]:25"},
		{"interface name", "inet_interfaces = eth0", smtp, "smtp 192.0.2.10:25, smtp [2001:db8::10]:25"},
		{"interface name ipv6", "inet_interfaces = eth0\ninet_protocols = ipv6", smtp, "smtp [2001:db8::10]:25"},
		{"hostname", "inet_interfaces = mail.example.test", smtp, "smtp 192.0.2.10:25, smtp [2001:db8::10]:25"},
		{"port-only service", "inet_interfaces = loopback-only", "10026 inet n - n - - smtpd\n", "10026 127.0.0.1:10026, 10026 [::1]:10026"},
		{"host:port ignores inet_interfaces", "inet_interfaces = all", "127.0.0.1:10025 inet n - n - - smtpd\n", "127.0.0.1:10025 127.0.0.1:10025"},
		{"[v6]:port", "", "[::1]:10025 inet n - n - - smtpd\n", "[::1]:10025 [::1]:10025"},
		{"host name service", "inet_protocols = ipv4", "mail.example.test:2525 inet n - n - - smtpd\n", "mail.example.test:2525 192.0.2.10:2525"},
		{"unix services ignored", "", "pickup unix n - n 60 1 pickup\n", ""},
		{"two services", "inet_interfaces = loopback-only\ninet_protocols = ipv4", smtp + "2525 inet n - n - - smtpd\n", "smtp 127.0.0.1:25, 2525 127.0.0.1:2525"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socks, err := plan(t, tt.main, tt.master)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range socks {
				got = append(got, s.Service+" "+s.Addr.String())
			}
			if strings.Join(got, ", ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, ", "), tt.want)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct{ name, main, master, want string }{
		{"unknown host", "", "nohost.invalid:2525 inet n - n - - smtpd\n", "bad hostname or network address: nohost.invalid"},
		{"v6 host, ipv4 only", "inet_protocols = ipv4", "[::1]:2525 inet n - n - - smtpd\n", "no address of an enabled protocol"},
		{"same socket twice", "inet_interfaces = loopback-only", "2525 inet n - n - - smtpd\n127.0.0.1:2525 inet n - n - - smtpd\n", "127.0.0.1:2525 is already taken by service 2525"},
		{"bad inet_interfaces", "inet_interfaces = eth9", "smtp inet n - n - - smtpd\n", "host not found: eth9"},
		{"non-local address", "inet_interfaces = 203.0.113.5", "smtp inet n - n - - smtpd\n", "no local interface found for 203.0.113.5"},
		{"bad protocols", "inet_protocols = IPv4", "smtp inet n - n - - smtpd\n", `unknown inet_protocols value "IPv4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan(t, tt.main, tt.master)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// With inet_interfaces_freebind an address that is not up yet is planned.
func TestPlanFreebind(t *testing.T) {
	socks, err := plan(t, "inet_interfaces = 203.0.113.5\ninet_interfaces_freebind = yes", "smtp inet n - n - - smtpd\n")
	if err != nil || len(socks) != 1 || socks[0].Addr.String() != "203.0.113.5:25" {
		t.Errorf("got %v, %v", socks, err)
	}
}
