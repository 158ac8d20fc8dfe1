// Package showq formats queue listings the way Postfix 3.7's postqueue
// does: the Sendmail-style text of "postqueue -p" (mailq, sendmail -bp)
// and the JSON lines of "postqueue -j". It only formats; the caller reads
// the queue and hands over the messages.
//
// What a listing shows, measured against a private Postfix 3.7.11
// (testdata/make-reference.sh; the tests compare byte for byte) and read
// in showq.c, showq_compat.c and showq_json.c:
//
//   - Messages appear in the order given. Sort puts them in showq's
//     order: queue by queue, maildrop, active, incoming, deferred, hold;
//     within a queue by queue ID (Postfix: directory order), which for
//     postern's IDs is arrival order.
//   - The queue ID is followed by "*" in the active queue and "!" in the
//     hold queue; nothing in maildrop, incoming and deferred. (Postfix adds
//     "#" for a message forced to expire, which postern's queue does not
//     have, so forced_expire is always false.)
//   - The size is Message.Size: Postfix shows the content size (header and
//     body), except in maildrop, where it shows the queue file's size,
//     envelope included, because postdrop writes no size record.
//   - The null sender, and an empty recipient, are shown as MAILER-DAEMON
//     (empty_address_recipient), in JSON too.
//   - Only recipients still to be delivered (State Pending) are listed;
//     Postfix marks sent and bounced recipients done in the queue file at
//     once, so they vanish even before any DSN is sent. Recipients with a
//     deferral reason (Action "delayed") come first, in the order they were
//     deferred (RcptStatus.At), as Postfix reads them from the defer log;
//     the others follow in envelope order. A hold message keeps its reasons.
//   - Addresses are shown as stored (postern keeps them in SMTP form, which
//     is how showq quotes them: "john doe"@example.net).
//   - Control characters and malformed UTF-8 are replaced by "?", like
//     Postfix's printable() with smtputf8_enable = yes; valid UTF-8 is kept.
//     postern also replaces the C1 controls U+0080 to U+009F, which Postfix
//     passes to the terminal.
package showq

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/queue"
)

// emptyAddress replaces the null sender, as empty_address_recipient's
// default does in showq.
const emptyAddress = "MAILER-DAEMON"

// entry is one message as a listing shows it, every string printable.
type entry struct {
	queue   string
	id      string
	arrival time.Time
	size    int64
	sender  string
	rcpts   []rcpt
}

// rcpt is a listed recipient; reason is empty when none is known.
type rcpt struct {
	addr, reason string
}

func newEntry(m *queue.Message) entry {
	id := m.ID
	if id == "" {
		id = m.Envelope.ID
	}
	return entry{
		queue:   printable(m.Queue),
		id:      printable(id),
		arrival: arrival(m, id),
		size:    m.Size,
		sender:  address(m.Envelope.Sender),
		rcpts:   recipients(m),
	}
}

// arrival falls back on the time in the queue ID, as showq falls back on
// the queue file's modification time when the file has no time record.
func arrival(m *queue.Message, id string) time.Time {
	if !m.Envelope.Arrival.IsZero() {
		return m.Envelope.Arrival
	}
	if t, ok := queue.IDTime(id); ok {
		return t
	}
	return time.Unix(0, 0)
}

// flag is the status character postqueue -p appends to the queue ID.
func (e entry) flag() string {
	switch e.queue {
	case queue.Active:
		return "*"
	case queue.Hold:
		return "!"
	}
	return ""
}

// recipients lists the recipients still to be delivered: those deferred
// with a reason first, in deferral order, then the rest in envelope order.
// A message with fewer statuses than recipients (not yet tried) counts the
// missing ones as pending.
func recipients(m *queue.Message) []rcpt {
	type deferral struct {
		at time.Time
		r  rcpt
	}
	var deferred []deferral
	var rest []rcpt
	for i, r := range m.Envelope.Recipients {
		var st queue.RcptStatus
		if i < len(m.Status) {
			st = m.Status[i]
		}
		if st.State != queue.Pending {
			continue
		}
		if reason := printable(st.Reason); st.Action == "delayed" && reason != "" {
			deferred = append(deferred, deferral{st.At, rcpt{address(r.Addr), reason}})
		} else {
			rest = append(rest, rcpt{addr: address(r.Addr)})
		}
	}
	slices.SortStableFunc(deferred, func(a, b deferral) int { return a.at.Compare(b.at) })
	out := make([]rcpt, 0, len(deferred)+len(rest))
	for _, d := range deferred {
		out = append(out, d.r)
	}
	return append(out, rest...)
}

func address(a string) string {
	if a == "" {
		return emptyAddress
	}
	return printable(a)
}

// queueOrder is the order in which showq walks the queue directories.
var queueOrder = []string{queue.Maildrop, queue.Active, queue.Incoming, queue.Deferred, queue.Hold}

func queueRank(name string) int {
	if i := slices.Index(queueOrder, name); i >= 0 {
		return i
	}
	return len(queueOrder) // anything else (corrupt) last
}

// Sort puts msgs in showq's order: by queue (maildrop, active, incoming,
// deferred, hold, then any other), then by queue ID. Nil entries go last.
func Sort(msgs []*queue.Message) {
	slices.SortStableFunc(msgs, func(a, b *queue.Message) int {
		if a == nil || b == nil {
			return boolRank(a == nil) - boolRank(b == nil)
		}
		if c := cmp.Compare(queueRank(a.Queue), queueRank(b.Queue)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printable replaces what must not reach a terminal or a JSON consumer:
// each byte of malformed UTF-8 and each control character becomes '?'.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || isControl(r) {
			b.WriteByte('?')
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isControl is true for C0 and C1 controls and DEL.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}
