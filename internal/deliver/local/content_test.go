package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
)

func TestUnreadableContentDefers(t *testing.T) {
	e := newEnv(t)
	req := request(testBody, "alice@example.test")
	req.Content = func() (io.ReadCloser, error) { return nil, errors.New("queue file vanished") }
	res := e.agent().Deliver(context.Background(), req)
	expect(t, res[0], deliver.Deferred, "4.3.0", "error reading message: queue file vanished")
}

func TestForwardNotify(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "SUCCESS": "NEVER", "SUCCESS,FAILURE": "FAILURE", "FAILURE,DELAY": "FAILURE,DELAY", "NEVER": "NEVER",
	} {
		if got := forwardNotify(in); got != want {
			t.Errorf("forwardNotify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCensor(t *testing.T) {
	if got := censor("a b;c$(x)`y`@d.test+ext=1\n\xc3\xa9"); got != "a_b_c__x__y_@d.test+ext=1___" {
		t.Errorf("%q", got)
	}
}

// A small message is read from the queue once for the loop check and
// every copy; a large one, or one longer than Request.Size said, is read
// again for each use. Every copy is complete either way.
func TestContentReadOnceWhenSmall(t *testing.T) {
	small := testBody
	large := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 98)+"\r\n", memContent/100+10)
	tests := []struct {
		name  string
		body  string
		size  int64 // Request.Size
		opens int   // Content calls for three recipients
	}{
		{"small", small, int64(len(small)), 1},
		{"large", large, int64(len(large)), 1 + 3},  // the loop check, then each copy
		{"size understated", large, 100, 1 + 1 + 3}, // the load gives up, then as large
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.HomeMailbox = "Maildir/"
			req := request(tt.body, "alice@example.test", "bob@example.test", "ALICE@example.test")
			req.Size = tt.size
			opens := 0
			req.Content = func() (io.ReadCloser, error) { opens++; return io.NopCloser(strings.NewReader(tt.body)), nil }
			for _, r := range e.agent().Deliver(context.Background(), req) {
				expect(t, r, deliver.Sent, "2.0.0", "delivered to maildir")
			}
			if opens != tt.opens {
				t.Errorf("content opened %d times, want %d", opens, tt.opens)
			}
			for _, user := range []string{"alice", "bob"} {
				files, _ := os.ReadDir(filepath.Join(e.home[user], "Maildir", "new"))
				for _, f := range files {
					got := readFile(t, filepath.Join(e.home[user], "Maildir", "new", f.Name()))
					if want := strings.ReplaceAll(tt.body, "\r\n", "\n"); !strings.HasSuffix(got, "\n\n"+want[strings.Index(want, "\n\n")+2:]) {
						t.Errorf("%s: copy of %d bytes damaged", f.Name(), len(got))
					}
				}
			}
		})
	}
}
