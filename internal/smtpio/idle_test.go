package smtpio

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// script is a source that returns its reads one by one, and an Idler
// that notes whether the Reader held a buffer while it waited.
type script struct {
	reads    []string
	r        *Reader
	waits    int
	heldWait int // waits during which the Reader kept its buffer
	waitErr  error
}

func (s *script) Read(p []byte) (int, error) {
	if len(s.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.reads[0])
	if s.reads[0] = s.reads[0][n:]; s.reads[0] == "" {
		s.reads = s.reads[1:]
	}
	return n, nil
}

func (s *script) WaitIdle() error {
	s.waits++
	if s.r.br != nil {
		s.heldWait++
	}
	return s.waitErr
}

func TestIdlerLendsBuffer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reads     []string
		want      []string // commands, then io.EOF
		waits     int
		heldWaits int
	}{
		{name: "one command per read", reads: []string{"EHLO a\r\n", "MAIL FROM:<x>\r\n", "QUIT\r\n"},
			want: []string{"EHLO a", "MAIL FROM:<x>", "QUIT"}, waits: 4},
		// Pipelined commands: the buffer holds the rest, so the Reader
		// neither waits nor lends it until all of it was read.
		{name: "pipelined", reads: []string{"MAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\n", "QUIT\r\n"},
			want: []string{"MAIL FROM:<x>", "RCPT TO:<y>", "DATA", "QUIT"}, waits: 3},
		// A line split over reads is read whole, in order.
		{name: "split line", reads: []string{"MAIL FR", "OM:<x>\r\nRC", "PT TO:<y>\r\n"},
			want: []string{"MAIL FROM:<x>", "RCPT TO:<y>"}, waits: 2},
		{name: "long line", reads: []string{strings.Repeat("x", 3*bufSize) + "\r\n", "NOOP\r\n"},
			want: []string{strings.Repeat("x", 3*bufSize), "NOOP"}, waits: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &script{reads: tc.reads}
			r := NewReader(src, Normalize)
			src.r = r
			r.SetIdler(src)
			for _, want := range tc.want {
				if err := r.Wait(); err != nil {
					t.Fatal(err)
				}
				got, err := r.ReadCommand(4 * bufSize)
				if err != nil || got != want {
					t.Fatalf("ReadCommand = %.40q, %v; want %.40q", got, err, want)
				}
			}
			r.Wait()
			if got, err := r.ReadCommand(100); err != io.EOF {
				t.Fatalf("at the end: ReadCommand = %q, %v; want EOF", got, err)
			}
			if src.waits != tc.waits || src.heldWait != 0 {
				t.Errorf("waited %d times (%d holding the buffer), want %d (0)", src.waits, src.heldWait, tc.waits)
			}
		})
	}
}

// An error of the wait (a deadline) is Wait's, and the Reader reads on
// afterwards.
func TestIdlerError(t *testing.T) {
	src := &script{reads: []string{"NOOP\r\n"}, waitErr: os.ErrDeadlineExceeded}
	r := NewReader(src, Normalize)
	src.r = r
	r.SetIdler(src)
	if err := r.Wait(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Wait = %v, want the wait's error", err)
	}
	src.waitErr = nil
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadCommand(100); got != "NOOP" || err != nil {
		t.Fatalf("ReadCommand = %q, %v; want NOOP", got, err)
	}
}

// A buffer lent by one Reader and taken by another has none of the
// first one's bytes: Readers in turn over the pool each read exactly
// their own input, whatever buffer they get.
func TestLentBufferCarriesNothing(t *testing.T) {
	for i := range 50 {
		a := &script{reads: []string{strings.Repeat("A", bufSize-10) + "\r\n" + "AAAA"}}
		ra := NewReader(a, Normalize)
		a.r = ra
		ra.SetIdler(a)
		ra.Wait()
		if _, err := ra.ReadCommand(2 * bufSize); err != nil {
			t.Fatal(err)
		}
		// ra keeps its buffer: "AAAA" is buffered (part of a line).
		if ra.br == nil {
			t.Fatal("a Reader with input buffered lent its buffer")
		}
		ra.Discard() // as STARTTLS drops pipelined plaintext
		b := &script{reads: []string{"B\r\n"}}
		rb := NewReader(b, Normalize)
		b.r = rb
		rb.SetIdler(b)
		if ra.Wait(); ra.br != nil {
			t.Fatal("an idle Reader kept its buffer")
		}
		for _, want := range []string{"B", ""} {
			rb.Wait()
			got, err := rb.ReadCommand(2 * bufSize)
			if got != want || (want == "") != (err == io.EOF) {
				t.Fatalf("round %d: the second Reader read %.20q, %v; want %q", i, got, err, want)
			}
			if p := rb.Peek(100); len(p) != 0 {
				t.Fatalf("round %d: the second Reader has %q buffered", i, p)
			}
		}
	}
}

// Reset (STARTTLS) forgets the Idler: a TLS connection may hold input
// of its own that the socket does not show.
func TestResetForgetsIdler(t *testing.T) {
	src := &script{reads: []string{"STARTTLS\r\n"}}
	r := NewReader(src, Normalize)
	src.r = r
	r.SetIdler(src)
	r.Wait()
	r.ReadCommand(100)
	r.Reset(strings.NewReader("EHLO a\r\n"))
	r.Wait()
	if got, err := r.ReadCommand(100); got != "EHLO a" || err != nil {
		t.Fatalf("ReadCommand = %q, %v", got, err)
	}
	if src.waits != 1 {
		t.Errorf("waited %d times, want 1 (before STARTTLS only)", src.waits)
	}
}
