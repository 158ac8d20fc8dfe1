package showq

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

func text(t *testing.T, msgs []*queue.Message, long bool) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeText(&b, msgs, long, time.UTC); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteText(t *testing.T) {
	sender := testID + sp(7) + "512 Wed Nov  4 09:05:07 "
	tests := []struct {
		name string
		msgs []*queue.Message
		long bool
		want string
	}{
		{"empty queue", nil, true, "Mail queue is empty\n"},
		{"only nil messages", []*queue.Message{nil}, true, "Mail queue is empty\n"},
		{"one request, reason right-aligned", []*queue.Message{
			newMsg(queue.Deferred, "sender@example.test", 512, delayed("rcpt@example.net", "mailbox busy")),
		}, true, longHeading +
			sender + "sender@example.test\n" +
			reasonLine(64, "mailbox busy") +
			longIndent + "rcpt@example.net\n" +
			"\n-- 0 Kbytes in 1 Request.\n"},
		{"null sender, hold flag, no reason", []*queue.Message{
			newMsg(queue.Hold, "", 512, pending("postmaster@example.net")),
		}, true, longHeading +
			testID + "!" + sp(6) + "512 Wed Nov  4 09:05:07 MAILER-DAEMON\n" +
			longIndent + "postmaster@example.net\n" +
			"\n-- 0 Kbytes in 1 Request.\n"},
		{"two requests, active flag, blank line between", []*queue.Message{
			newMsg(queue.Active, "a@example.test", 512, pending("x@example.net")),
			newMsg(queue.Maildrop, "b@example.test", 512, pending("y@example.net")),
		}, true, longHeading +
			testID + "*" + sp(6) + "512 Wed Nov  4 09:05:07 a@example.test\n" +
			longIndent + "x@example.net\n" +
			"\n" +
			sender + "b@example.test\n" +
			longIndent + "y@example.net\n" +
			"\n-- 1 Kbytes in 2 Requests.\n"},
		{"repeated reasons once, changes and unavailable shown", []*queue.Message{
			newMsg(queue.Deferred, "s@example.test", 512,
				delayed("1@example.net", "reason A"),
				delayed("2@example.net", "reason A"),
				delayed("3@example.net", "reason B"),
				delayed("4@example.net", "reason A"),
				pending("5@example.net"),
				pending("6@example.net")),
		}, true, longHeading +
			sender + "s@example.test\n" +
			reasonLine(68, "reason A") +
			longIndent + "1@example.net\n" +
			longIndent + "2@example.net\n" +
			reasonLine(68, "reason B") +
			longIndent + "3@example.net\n" +
			reasonLine(68, "reason A") +
			longIndent + "4@example.net\n" +
			reasonLine(58, "reason unavailable") +
			longIndent + "5@example.net\n" +
			longIndent + "6@example.net\n" +
			"\n-- 0 Kbytes in 1 Request.\n"},
		{"short layout", []*queue.Message{
			func() *queue.Message {
				m := newMsg(queue.Active, "s@example.test", 275, delayed("r@example.net", "reason A"))
				m.ID = "3A1B2C3D4E"
				return m
			}(),
		}, false, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n" +
			"3A1B2C3D4E*     275 Wed Nov  4 09:05:07  s@example.test\n" +
			reasonLine(68, "reason A") +
			sp(41) + "r@example.net\n" +
			"\n-- 0 Kbytes in 1 Request.\n"},
		{"an ID longer than the column is not cut", []*queue.Message{
			func() *queue.Message {
				m := newMsg(queue.Hold, "s@example.test", 5, pending("r@example.net"))
				m.ID = "4jYww771THz1SNrxyz"
				return m
			}(),
		}, true, longHeading +
			"4jYww771THz1SNrxyz!        5 Wed Nov  4 09:05:07 s@example.test\n" +
			longIndent + "r@example.net\n" +
			"\n-- 0 Kbytes in 1 Request.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text(t, tt.msgs, tt.long); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestReasonAlignment(t *testing.T) {
	tests := []struct {
		length, pad int
	}{
		{1, 75}, {12, 64}, {75, 1}, {76, 0}, {77, 0}, {120, 0},
	}
	for _, tt := range tests {
		reason := strings.Repeat("r", tt.length)
		out := text(t, []*queue.Message{newMsg(queue.Deferred, "s@example.test", 1, delayed("r@example.net", reason))}, true)
		lines := strings.Split(out, "\n")
		if want := sp(tt.pad) + "(" + reason + ")"; lines[2] != want {
			t.Errorf("reason of %d: line %q, want %d spaces before it", tt.length, lines[2], tt.pad)
		}
		if tt.length <= 76 && len(lines[2]) != 78 {
			t.Errorf("reason of %d: line ends at column %d, want 78", tt.length, len(lines[2]))
		}
	}
}

func TestKbytes(t *testing.T) {
	tests := []struct {
		sizes []int64
		want  string
	}{
		{[]int64{0}, "-- 0 Kbytes in 1 Request."},
		{[]int64{1023}, "-- 0 Kbytes in 1 Request."},
		{[]int64{1024}, "-- 1 Kbytes in 1 Request."},
		{[]int64{2047}, "-- 1 Kbytes in 1 Request."},
		{[]int64{1000, 1000}, "-- 1 Kbytes in 2 Requests."}, // the total is rounded down, not each size
		{[]int64{4247, 134, 294}, "-- 4 Kbytes in 3 Requests."},
		{[]int64{10 << 20, -5}, "-- 10240 Kbytes in 2 Requests."}, // a nonsense size counts as 0
	}
	for _, tt := range tests {
		var msgs []*queue.Message
		for _, s := range tt.sizes {
			msgs = append(msgs, newMsg(queue.Deferred, "s@example.test", s, pending("r@example.net")))
		}
		out := text(t, msgs, true)
		if got := out[strings.LastIndex(out[:len(out)-1], "\n")+1 : len(out)-1]; got != tt.want {
			t.Errorf("sizes %v: trailer %q, want %q", tt.sizes, got, tt.want)
		}
	}
}

func TestFlags(t *testing.T) {
	for q, flag := range map[string]string{
		queue.Maildrop: "", queue.Incoming: "", queue.Active: "*", queue.Deferred: "", queue.Hold: "!", queue.Corrupt: "",
	} {
		out := text(t, []*queue.Message{newMsg(q, "s@example.test", 1, pending("r@example.net"))}, true)
		line := strings.Split(out, "\n")[1]
		if want := testID + flag + " "; !strings.HasPrefix(line, want) {
			t.Errorf("%s: line %q, want it to start with %q", q, line, want)
		}
	}
}

func TestWriteTextError(t *testing.T) {
	boom := errors.New("disk on fire")
	msgs := []*queue.Message{newMsg(queue.Deferred, "s@example.test", 1, pending("r@example.net"))}
	if err := WriteText(failWriter{boom}, msgs, true); !errors.Is(err, boom) {
		t.Errorf("WriteText error %v, want it to wrap %v", err, boom)
	}
	if err := WriteText(failWriter{boom}, nil, true); !errors.Is(err, boom) {
		t.Errorf("WriteText (empty) error %v, want it to wrap %v", err, boom)
	}
}

// TestLocalTime checks that WriteText shows local time, as asctime(localtime()).
func TestLocalTime(t *testing.T) {
	m := newMsg(queue.Deferred, "s@example.test", 1, pending("r@example.net"))
	var b bytes.Buffer
	if err := WriteText(&b, []*queue.Message{m}, true); err != nil {
		t.Fatal(err)
	}
	want := arrivedAt.Local().Format("Mon Jan _2 15:04:05")
	if !strings.Contains(b.String(), " "+want+" s@example.test\n") {
		t.Errorf("listing %q lacks the local time %q", b.String(), want)
	}
}
