package main

import (
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A recipient without a domain, from a client allowed to relay, with a
// relayhost set: it is user@$myorigin for the local recipient check,
// routing and the log, as in Postfix. An unknown one is refused at RCPT
// (before, it was taken unchecked and handed to the relayhost); a known
// one is delivered locally and logged to=<user@$myorigin>,
// orig_to=<user>; the bare sender becomes sender@$myorigin.
func TestBareRecipientIsLocal(t *testing.T) {
	sink, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var relayed atomic.Int32
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			relayed.Add(1)
			c.Close()
		}
	}()
	in, maildir := mailInstance(t, fmt.Sprintf("relayhost = [127.0.0.1]:%d\n", sink.Addr().(*net.TCPAddr).Port))
	u, _ := user.Current()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", in.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("app"); err != nil {
		t.Fatal(err)
	}
	var te *textproto.Error
	if err := c.Rcpt("nosuchuser"); !errors.As(err, &te) || te.Code != 550 ||
		te.Msg != "5.1.1 <nosuchuser>: Recipient address rejected: User unknown in local recipient table" {
		t.Fatalf("RCPT TO:<nosuchuser>: %v", err)
	}
	if err := c.Rcpt(u.Username); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: bare\r\n\r\nhello\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{"Return-Path: <app@mx.example.test>\n", "X-Original-To: " + u.Username + "\n",
		"Delivered-To: " + u.Username + "@mx.example.test\n"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}
	waitLog(t, in, ": removed")
	log := in.maillog(t)
	for _, want := range []string{
		"NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nosuchuser>: Recipient address rejected: User unknown in local recipient table; from=<app> to=<nosuchuser>",
		"from=<app@mx.example.test>, size=",
		fmt.Sprintf("to=<%s@mx.example.test>, orig_to=<%s>, relay=local, ", u.Username, u.Username),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("maillog lacks %q:\n%s", want, log)
		}
	}
	if n := relayed.Load(); n != 0 || strings.Contains(log, "nosuchuser@") {
		t.Errorf("the relayhost got %d connections; maillog:\n%s", n, log)
	}
}

// postmaster is accepted while the recipient table is unavailable; a user
// gets 451 4.3.0, and the maillog says which table failed and why, in
// Postfix's words.
func TestPostmasterWithTableUnavailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "users")
	in, _ := mailInstance(t, "local_recipient_maps = hash:"+missing+"\n")
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", in.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("app@client.example"); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"postmaster", "Postmaster@mx.example.test"} {
		if err := c.Rcpt(rcpt); err != nil {
			t.Errorf("RCPT TO:<%s>: %v", rcpt, err)
		}
	}
	var te *textproto.Error
	if err := c.Rcpt("known"); !errors.As(err, &te) || te.Code != 451 || te.Msg != "4.3.0 <known>: Temporary lookup failure" {
		t.Errorf("RCPT TO:<known>: %v", err)
	}
	c.Quit()
	waitLog(t, in, "disconnect from")
	log := in.maillog(t)
	for _, want := range []string{
		"postern/smtpd[", "]: warning: hash:" + missing + " is unavailable. open database " + missing + ".cdb: no such file or directory\n",
		"]: warning: hash:" + missing + " lookup error for \"known@mx.example.test\"\n",
		": reject: RCPT from localhost[127.0.0.1]: 451 4.3.0 <known>: Temporary lookup failure; from=<app@client.example> to=<known>",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("maillog lacks %q:\n%s", want, log)
		}
	}
}
