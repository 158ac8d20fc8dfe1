package maillog

import (
	"bytes"
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
