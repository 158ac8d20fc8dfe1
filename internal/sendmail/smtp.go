package sendmail

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd"
)

// standAloneOff are the access controls Postfix's stand-alone smtpd
// (sendmail -bs) skips unless it runs as mail_owner: the local user
// could submit through the maildrop anyway.
var standAloneOff = []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions", "local_recipient_maps"}

// ServeSMTP is sendmail -bs: one SMTP session on in and out, as from
// localhost[127.0.0.1], whose messages go into the maildrop like any
// other local submission (pickup logs the user's uid). Errors are about
// the set-up; the session's own problems are SMTP replies.
func ServeSMTP(ctx context.Context, cfg *config.Config, maildrop string, in io.Reader, out io.Writer) error {
	if !isMailOwner(cfg) {
		for _, name := range standAloneOff {
			cfg.Overrides[name] = ""
		}
	}
	sc, err := smtpd.ConfigFrom(cfg)
	if err != nil {
		return &Error{Code: ExTempFail, Msg: err.Error()}
	}
	pol, err := policy.New(ctx, cfg, func(spec string) (policy.Table, error) { return maps.Open(spec) })
	if err != nil {
		return &Error{Code: ExTempFail, Msg: err.Error()}
	}
	srv := &smtpd.Server{Config: sc, Policy: pol, Queue: maildropQueue{dir: maildrop}, StandAlone: true,
		LookupClient: func(context.Context, netip.Addr) smtpd.ClientNames {
			return smtpd.ClientNames{Verified: "localhost", Reverse: "localhost"}
		}}
	srv.ServeConn(ctx, &stdioConn{r: in, w: out})
	return nil
}

func isMailOwner(cfg *config.Config) bool {
	name, err := cfg.Get("mail_owner")
	if err != nil {
		return false
	}
	u, err := user.Lookup(name)
	return err == nil && u.Uid == strconv.Itoa(os.Getuid())
}

// maildropQueue is the queue of a stand-alone SMTP session: each message
// becomes a maildrop file. The maildrop has one NOTIFY for all
// recipients (the first recipient's) and no ORCPT.
type maildropQueue struct{ dir string }

func (m maildropQueue) Enqueue(_ context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	sub := &pickup.Submission{Sender: env.Sender, Ret: env.Ret, EnvID: env.EnvID, EightBit: env.EightBit}
	for _, r := range env.Recipients {
		sub.Recipients = append(sub.Recipients, r.Addr)
	}
	if len(env.Recipients) > 0 {
		sub.Notify = env.Recipients[0].Notify
	}
	d, err := pickup.Create(m.dir, sub)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(d, body); err != nil {
		d.Abort()
		return "", err
	}
	name, err := d.Commit()
	if err != nil {
		return "", err
	}
	if env.ID != "" {
		return env.ID, nil
	}
	return name, nil
}

// stdioConn is standard input and output as the session's connection,
// from 127.0.0.1. Deadlines are not supported: the session's timeouts
// do not apply to a local pipe.
type stdioConn struct {
	r io.Reader
	w io.Writer
}

var localhost = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}

func (c *stdioConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *stdioConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *stdioConn) Close() error                     { return nil }
func (c *stdioConn) LocalAddr() net.Addr              { return localhost }
func (c *stdioConn) RemoteAddr() net.Addr             { return localhost }
func (c *stdioConn) SetDeadline(time.Time) error      { return nil }
func (c *stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (c *stdioConn) SetWriteDeadline(time.Time) error { return nil }
