package milter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Postfix's defaults for milter_connect_timeout,
// milter_command_timeout and milter_content_timeout.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultCommandTimeout = 30 * time.Second
	DefaultContentTimeout = 300 * time.Second
)

// errNotNegotiated is a caller's bug: an event before Negotiate.
var errNotNegotiated = errors.New("milter: event before option negotiation")

// Verdict is the milter's answer to one event. Code is RepContinue,
// RepAccept, RepReject, RepTempfail, RepDiscard, RepReplyCode (with
// Text), RepShutdown or RepConnFail. An event not sent (the milter
// asked not to see it, or not to reply) yields RepContinue.
type Verdict struct {
	Code byte
	Text string
}

// Continue is the verdict for an event that needs no decision.
var Continue = Verdict{Code: RepContinue}

func (v Verdict) String() string {
	if v.Text != "" {
		return fmt.Sprintf("%c %s", v.Code, v.Text)
	}
	return string(rune(v.Code))
}

// state tracks what the milter already decided, as Postfix's milter8.
type state int

const (
	stReady     state = iota // negotiated, no connect event yet
	stEnvelope               // per-connection events flow
	stAcceptCon              // milter accepted the connection: no more events
	stRejectCon              // milter refused the connection: rejVerdict for all
	stAcceptMsg              // milter accepted/discarded this message
)

// Session is one conversation with one milter over conn. It is not
// safe for concurrent use. After an error every method returns that
// error and the connection is closed.
type Session struct {
	ConnectTimeout time.Duration // dialing (see Dial)
	CommandTimeout time.Duration // negotiation and envelope events
	ContentTimeout time.Duration // header, body and end-of-body events
	MaxPacket      int           // bound on a reply packet; DefaultMaxPacket if 0
	// Offer is what postern proposes in SMFIC_OPTNEG.
	Offer OptNeg

	conn       net.Conn
	neg        Negotiated
	err        error
	st         state
	rejVerdict Verdict
	skipBody   bool
	// quarantined: SMFIR_QUARANTINE came before an event's verdict
	// (Postfix accepts it at any event); see Quarantined.
	quarantined bool
}

// Quarantined reports, once, whether the milter asked for quarantine
// (SMFIR_QUARANTINE) in reply to an event other than end of body.
func (s *Session) Quarantined() bool {
	q := s.quarantined
	s.quarantined = false
	return q
}

// Dial connects to a milter under the connect timeout and the context.
func Dial(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("milter: connect %s:%s: %w", network, address, err)
	}
	return c, nil
}

// NewSession returns a session over conn with Postfix's default
// timeouts and offer (version 6, every action, every v6 step flag).
func NewSession(conn net.Conn) *Session {
	return &Session{
		ConnectTimeout: DefaultConnectTimeout,
		CommandTimeout: DefaultCommandTimeout,
		ContentTimeout: DefaultContentTimeout,
		Offer:          OptNeg{Version: 6, Actions: ActAll, Protocol: ProtoV6},
		conn:           conn,
	}
}

// Negotiated returns the outcome of Negotiate.
func (s *Session) Negotiated() Negotiated { return s.neg }

// Err returns the error that ended the session, if any.
func (s *Session) Err() error { return s.err }

// Close closes the connection without a QUIT.
func (s *Session) Close() error { return s.conn.Close() }

// fail poisons the session with err and closes the connection.
func (s *Session) fail(err error) error {
	if s.err == nil {
		s.err = err
		s.conn.Close()
	}
	return s.err
}

// deadline (re)arms the connection deadline: timeout from now, or
// the context's deadline when sooner.
func (s *Session) deadline(ctx context.Context, timeout time.Duration) {
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	s.conn.SetDeadline(dl)
}

// run runs f under a deadline of timeout, cut short by ctx. Any error
// poisons the session; a cancelled context reports the context's error.
func (s *Session) run(ctx context.Context, timeout time.Duration, what string, f func() error) error {
	if s.err != nil {
		return s.err
	}
	if err := ctx.Err(); err != nil {
		return s.fail(fmt.Errorf("milter: %s: %w", what, err))
	}
	s.deadline(ctx, timeout)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Unix(1, 0)) })
	err := f()
	stop()
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		err = fmt.Errorf("%w (%v)", cerr, err)
	}
	return s.fail(fmt.Errorf("milter: %s: %w", what, err))
}

// write sends packets in one write.
func (s *Session) write(ps ...Packet) error {
	var b []byte
	for _, p := range ps {
		b = append(b, p.Bytes()...)
	}
	_, err := s.conn.Write(b)
	return err
}

// read reads and decodes one reply; progress replies re-arm the
// deadline and are skipped.
func (s *Session) read(ctx context.Context, timeout time.Duration) (Reply, error) {
	for {
		p, err := ReadPacket(s.conn, s.MaxPacket)
		if err != nil {
			return Reply{}, err
		}
		r, err := Decode(p)
		if err != nil {
			return Reply{}, err
		}
		if r.Cmd != RepProgress {
			return r, nil
		}
		s.deadline(ctx, timeout)
	}
}

// Negotiate sends SMFIC_OPTNEG and checks the milter's answer.
func (s *Session) Negotiate(ctx context.Context) (Negotiated, error) {
	err := s.run(ctx, s.CommandTimeout, "negotiate", func() error {
		if err := s.write(EncodeOptNeg(s.Offer)); err != nil {
			return err
		}
		p, err := ReadPacket(s.conn, s.MaxPacket)
		if err != nil {
			return err
		}
		s.neg, err = DecodeOptNeg(s.Offer, p)
		return err
	})
	if err != nil {
		return Negotiated{}, err
	}
	s.st = stReady
	return s.neg, nil
}

// event reports one event: macros first (sent even when the milter
// does not want the event itself, as Postfix does), then the event
// unless the milter set noFlag, then the reply unless it set nrFlag.
func (s *Session) event(ctx context.Context, timeout time.Duration, noFlag, nrFlag uint32, macros []Macro, p Packet) (Verdict, error) {
	if s.err != nil {
		return Verdict{}, s.err
	}
	if s.neg.Version == 0 {
		return Verdict{}, errNotNegotiated
	}
	if s.neg.NoSend&noFlag != 0 {
		return Continue, nil
	}
	name := fmt.Sprintf("event %q", p.Cmd)
	var v Verdict
	err := s.run(ctx, timeout, name, func() error {
		var ps []Packet
		if len(macros) > 0 {
			ps = append(ps, EncodeMacro(p.Cmd, macros))
		}
		send := noFlag == 0 || !s.neg.skipEvent(noFlag)
		if send {
			ps = append(ps, p)
		}
		if len(ps) > 0 {
			if err := s.write(ps...); err != nil {
				return err
			}
		}
		if !send || s.neg.Has(nrFlag) {
			v = Continue
			return nil
		}
		r, err := s.read(ctx, timeout)
		for err == nil && r.Cmd == RepQuarantine && s.neg.Actions&ActQuarantine != 0 {
			s.quarantined = true
			r, err = s.read(ctx, timeout)
		}
		if err != nil {
			return err
		}
		switch {
		case r.Cmd == RepSkip:
			if p.Cmd != CmdBody {
				return perr(r.Cmd, "skip in reply to event %q", p.Cmd)
			}
			s.skipBody = true
			v = Continue
		case r.IsModification():
			return perr(r.Cmd, "modification in reply to event %q", p.Cmd)
		default:
			v = Verdict{Code: r.Cmd, Text: r.Text}
		}
		return nil
	})
	return v, err
}

// gate returns the standing answer when an earlier verdict covers the
// event (accepted or rejected connection, accepted message).
func (s *Session) gate(message bool) (Verdict, bool) {
	switch s.st {
	case stAcceptCon:
		return Verdict{Code: RepAccept}, true
	case stRejectCon:
		return s.rejVerdict, true
	case stAcceptMsg:
		if message {
			return Verdict{Code: RepAccept}, true
		}
	}
	return Verdict{}, false
}

// after records what a verdict decides for later events.
func (s *Session) after(v Verdict, conn bool) {
	switch v.Code {
	case RepAccept:
		if conn {
			s.st = stAcceptCon
		} else {
			s.st = stAcceptMsg
		}
	case RepDiscard:
		s.st = stAcceptMsg
	case RepReject, RepTempfail, RepReplyCode:
		if conn {
			s.st, s.rejVerdict = stRejectCon, v
		}
	case RepShutdown, RepConnFail:
		s.st, s.rejVerdict = stRejectCon, v
	}
}

// Connect reports the client connection: host name ("[addr]" when
// unknown, as Postfix sends), address family (Family*), port, address.
func (s *Session) Connect(ctx context.Context, host string, family byte, port uint16, addr string, macros []Macro) (Verdict, error) {
	if s.err == nil && s.st != stReady {
		return Verdict{}, errors.New("milter: connect event twice")
	}
	s.st = stEnvelope
	v, err := s.event(ctx, s.CommandTimeout, ProtoNoConnect, ProtoNRConnect, macros, EncodeConnect(host, family, port, addr))
	if err == nil {
		s.after(v, true)
	}
	return v, err
}

// Helo reports HELO/EHLO.
func (s *Session) Helo(ctx context.Context, name string, macros []Macro) (Verdict, error) {
	return s.envelope(ctx, false, ProtoNoHelo, ProtoNRHelo, macros, EncodeHelo(name))
}

// Mail reports MAIL FROM: the sender in angle brackets and ESMTP args.
// It starts a new message: an earlier message verdict no longer applies.
func (s *Session) Mail(ctx context.Context, sender string, args []string, macros []Macro) (Verdict, error) {
	if s.st == stAcceptMsg {
		s.st = stEnvelope
	}
	s.skipBody = false
	return s.envelope(ctx, true, ProtoNoMail, ProtoNRMail, macros, EncodeMail(sender, args...))
}

// Rcpt reports RCPT TO. A reject verdict refuses only this recipient.
func (s *Session) Rcpt(ctx context.Context, rcpt string, args []string, macros []Macro) (Verdict, error) {
	return s.envelope(ctx, true, ProtoNoRcpt, ProtoNRRcpt, macros, EncodeRcpt(rcpt, args...))
}

// Data reports the DATA command.
func (s *Session) Data(ctx context.Context, macros []Macro) (Verdict, error) {
	return s.envelope(ctx, true, ProtoNoData, ProtoNRData, macros, EncodeSimple(CmdData))
}

// Unknown reports an unrecognised SMTP command line.
func (s *Session) Unknown(ctx context.Context, line string, macros []Macro) (Verdict, error) {
	return s.envelope(ctx, true, ProtoNoUnknown, ProtoNRUnknown, macros, EncodeUnknown(line))
}

func (s *Session) envelope(ctx context.Context, message bool, no, nr uint32, macros []Macro, p Packet) (Verdict, error) {
	return s.stage(ctx, s.CommandTimeout, message, no, nr, macros, p)
}

func (s *Session) stage(ctx context.Context, timeout time.Duration, message bool, no, nr uint32, macros []Macro, p Packet) (Verdict, error) {
	if s.err != nil {
		return Verdict{}, s.err
	}
	if v, ok := s.gate(message); ok {
		return v, nil
	}
	v, err := s.event(ctx, timeout, no, nr, macros, p)
	if err == nil {
		// HELO decides for the connection, as Postfix's milter8
		// (IN_CONNECT_EVENT): accept or reject there stands for
		// every later event.
		s.after(v, p.Cmd == CmdHelo)
	}
	return v, err
}

// Header reports one header. value is the text after the colon as
// received; without SMFIP_HDR_LEADSPC its leading blanks are removed,
// as Sendmail does.
func (s *Session) Header(ctx context.Context, name, value string) (Verdict, error) {
	if !s.neg.Has(ProtoHdrLeadSpc) {
		value = strings.TrimLeft(value, " \t")
	}
	return s.stage(ctx, s.ContentTimeout, true, ProtoNoHeaders, ProtoNRHeader, nil, EncodeHeader(name, value))
}

// EndOfHeaders reports the end of the headers.
func (s *Session) EndOfHeaders(ctx context.Context, macros []Macro) (Verdict, error) {
	return s.stage(ctx, s.ContentTimeout, true, ProtoNoEOH, ProtoNREOH, macros, EncodeSimple(CmdEOH))
}

// Body reports a part of the body (CRLF line endings), in chunks of at
// most BodyChunk bytes. After SMFIR_SKIP no more body is sent.
func (s *Session) Body(ctx context.Context, body []byte) (Verdict, error) {
	for _, p := range EncodeBody(body) {
		if s.skipBody {
			break
		}
		v, err := s.stage(ctx, s.ContentTimeout, true, ProtoNoBody, ProtoNRBody, nil, p)
		if err != nil || v.Code != RepContinue {
			return v, err
		}
	}
	return Continue, nil
}

// EndOfBody reports the end of the message. Each modification the
// milter sends before its final verdict goes to mod as it arrives, so
// that nothing piles up here (nil drops them); an error from mod ends
// the session with that error. A modification the milter did not
// negotiate is a protocol error.
func (s *Session) EndOfBody(ctx context.Context, macros []Macro, mod func(Reply) error) (Verdict, error) {
	if s.err != nil {
		return Verdict{}, s.err
	}
	if s.neg.Version == 0 {
		return Verdict{}, errNotNegotiated
	}
	if v, ok := s.gate(true); ok {
		return v, nil
	}
	var v Verdict
	err := s.run(ctx, s.ContentTimeout, "end of body", func() error {
		var ps []Packet
		if len(macros) > 0 {
			ps = append(ps, EncodeMacro(CmdEOB, macros))
		}
		if err := s.write(append(ps, EncodeSimple(CmdEOB))...); err != nil {
			return err
		}
		for {
			r, err := s.read(ctx, s.ContentTimeout)
			if err != nil {
				return err
			}
			if r.IsModification() {
				if s.neg.Actions&r.action() == 0 {
					return perr(r.Cmd, "modification not negotiated (actions 0x%x)", s.neg.Actions)
				}
				if mod != nil {
					if err := mod(r); err != nil {
						return err
					}
				}
				continue
			}
			if r.Cmd == RepSkip {
				return perr(r.Cmd, "skip in reply to end of body")
			}
			v = Verdict{Code: r.Cmd, Text: r.Text}
			return nil
		}
	})
	if err != nil {
		return Verdict{}, err
	}
	s.after(v, false)
	return v, nil
}

// Abort ends the current message (RSET, a rejected DATA, HELO after
// MAIL); the connection's events go on. No reply is read.
func (s *Session) Abort(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	if s.st == stReady || s.st == stAcceptCon || s.st == stRejectCon {
		return nil
	}
	s.skipBody = false
	s.st = stEnvelope
	return s.run(ctx, s.CommandTimeout, "abort", func() error { return s.write(EncodeSimple(CmdAbort)) })
}

// Quit ends the conversation with SMFIC_QUIT and closes the connection.
func (s *Session) Quit(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	err := s.run(ctx, s.CommandTimeout, "quit", func() error { return s.write(EncodeSimple(CmdQuit)) })
	if err != nil {
		return err
	}
	s.err = errors.New("milter: session closed")
	return s.conn.Close()
}

// QuitNC ends this SMTP connection's conversation with SMFIC_QUIT_NC;
// the milter connection stays open for the next Connect.
func (s *Session) QuitNC(ctx context.Context) error {
	if err := s.run(ctx, s.CommandTimeout, "quit_nc", func() error { return s.write(EncodeSimple(CmdQuitNC)) }); err != nil {
		return err
	}
	s.st, s.skipBody, s.rejVerdict = stReady, false, Verdict{}
	return nil
}
