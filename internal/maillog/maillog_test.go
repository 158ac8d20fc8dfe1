package maillog

import (
	"bytes"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, "mail", "postern/master", nil)
	h.now = func() time.Time { return time.Date(2026, 11, 4, 9, 5, 7, 0, time.UTC) }
	log := slog.New(h)
	log.Info("daemon started -- version 0.1.0, configuration /etc/postern")
	log.Warn("service smtp: something", "addr", "127.0.0.1:25")
	log.With("program", "postern/smtpd").Info("connect from unknown[192.0.2.1]")
	log.Info("client said\r\nforged line")
	want := regexp.MustCompile(`^Nov  4 09:05:07 mail postern/master\[\d+\]: daemon started -- version 0.1.0, configuration /etc/postern
Nov  4 09:05:07 mail postern/master\[\d+\]: warning: service smtp: something addr=127.0.0.1:25
Nov  4 09:05:07 mail postern/smtpd\[\d+\]: connect from unknown\[192.0.2.1\]
Nov  4 09:05:07 mail postern/master\[\d+\]: client said\\r\\nforged line
$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("got:\n%s", buf.String())
	}
}

func TestJournalFormat(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, "mail", "postern/master", nil)
	h.Journal = true
	slog.New(h).Info("daemon started")
	if !regexp.MustCompile(`^postern/master\[\d+\]: daemon started\n$`).MatchString(buf.String()) {
		t.Errorf("got %q", buf.String())
	}
}

// BenchmarkHandle: one maillog line as the queue manager writes it.
func BenchmarkHandle(b *testing.B) {
	log := slog.New(New(io.Discard, "mail", "postern/master", nil)).With("program", "postern/local")
	b.ReportAllocs()
	for b.Loop() {
		log.Info("4jYy9k4rq2zCrD: to=<root@bench.test>, relay=local, delay=0.05, delays=0.01/0/0/0.04, dsn=2.0.0, status=sent (delivered to maildir)")
	}
}

// syslog_name replaces "postern" in program names, and nothing else.
func TestName(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, "mail", "postern/master", nil)
	h.Name = "postfix-out"
	log := slog.New(h)
	log.Info("started")
	log.With("program", "postern/smtpd").Info("connect")
	log.With("program", "other").Info("x")
	got := buf.String()
	for _, want := range []string{" postfix-out/master[", " postfix-out/smtpd[", " other["} {
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}
