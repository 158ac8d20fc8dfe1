package bounce

import (
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/queue"
)

// Kind is the class of a notice: the three bounce(8) templates postern
// uses (Postfix's fourth, "verify", answers sendmail -bv/-v).
type Kind int

const (
	Failure Kind = iota + 1 // permanent failure or expiry: "Undelivered Mail Returned to Sender"
	Delay                   // delay_warning_time passed: "Delayed Mail (still being retried)"
	Success                 // NOTIFY=SUCCESS: "Successful Mail Delivery Report"
)

// String names the kind as RFC 3461 NOTIFY does.
func (k Kind) String() string {
	switch k {
	case Failure:
		return "FAILURE"
	case Delay:
		return "DELAY"
	case Success:
		return "SUCCESS"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// DoubleBounceSender is the envelope sender of postmaster notices
// (Postfix's mail_addr_double_bounce(): double_bounce_sender@myhostname).
// Mail from it that cannot be delivered is discarded, never bounced: that
// is what stops a notice from looping.
func DoubleBounceSender(hostname string) string { return "double-bounce@" + hostname }

// Wanted reports whether the sender of env is to get a notice of this
// kind about recipient rcpt, by RFC 3461 NOTIFY as Postfix applies it:
// NEVER suppresses every notice; an explicit list names the kinds wanted;
// no NOTIFY means failure and delay notices (the caller sends delay
// notices only when delay_warning_time is set) and no success notice.
// Null-sender mail (bounces) and postmaster notices (sender
// DoubleBounceSender(hostname)) never get a notice addressed to their
// sender; see the package doc for what the queue manager does instead.
func Wanted(kind Kind, env *queue.Envelope, rcpt int, hostname string) bool {
	if env == nil || rcpt < 0 || rcpt >= len(env.Recipients) || !noticeSender(env.Sender, hostname) {
		return false
	}
	notify := strings.TrimSpace(env.Recipients[rcpt].Notify)
	if notify == "" {
		return kind == Failure || kind == Delay
	}
	want := false
	for _, word := range strings.Split(notify, ",") {
		word = strings.TrimSpace(word)
		if strings.EqualFold(word, "NEVER") {
			return false
		}
		if strings.EqualFold(word, kind.String()) {
			want = true
		}
	}
	return want
}

// noticeSender reports whether a notice may be addressed to sender.
func noticeSender(sender, hostname string) bool {
	return sender != "" && !strings.EqualFold(sender, DoubleBounceSender(hostname))
}
