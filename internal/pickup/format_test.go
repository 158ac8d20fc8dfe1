package pickup

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func encode(t *testing.T, s *Submission, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b, s)
	if err != nil {
		t.Fatal(err)
	}
	// Several writes, one crossing a chunk boundary.
	for _, part := range []string{content[:len(content)/2], content[len(content)/2:]} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(data []byte) (*Submission, string, error) {
	s, r, err := ReadSubmission(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(r)
	return s, string(b), err
}

func TestFormatRoundTrip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef\n", 10000) // several M records
	for _, tc := range []struct {
		name    string
		sub     Submission
		content string
	}{
		{"minimal", Submission{Recipients: []string{"a"}}, ""},
		{"everything", Submission{Sender: "app@example.test", FullName: "Ann Example",
			Recipients: []string{"a@example.test", `"b c"@example.test`}, Notify: "SUCCESS,DELAY",
			Ret: "HDRS", EnvID: "env-1", EightBit: true}, "Subject: hi\n\nbody\n"},
		{"large", Submission{Sender: "x", Recipients: []string{"y"}}, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, content, err := decode(encode(t, &tc.sub, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*s, tc.sub) {
				t.Errorf("envelope %+v, want %+v", *s, tc.sub)
			}
			if content != tc.content {
				t.Errorf("content of %d bytes differs (want %d)", len(content), len(tc.content))
			}
		})
	}
}

// A file cut anywhere, or with any byte changed, is refused: never a
// shorter or different message.
func TestFormatDamage(t *testing.T) {
	data := encode(t, &Submission{Sender: "s@example.test", Recipients: []string{"r@example.test"}},
		"Subject: x\n\n"+strings.Repeat("line\n", 20000))
	for n := 0; n < len(data); n += 1 + n/50 {
		if _, _, err := decode(data[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d of %d: %v, want ErrMalformed", n, len(data), err)
		}
	}
	for i := 0; i < len(data); i += 1 + i/50 {
		bad := bytes.Clone(data)
		bad[i] ^= 0x40
		if _, _, err := decode(bad); err == nil {
			t.Fatalf("byte %d changed: accepted", i)
		}
	}
	if _, _, err := decode(append(bytes.Clone(data), 'x')); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: %v", err)
	}
}

func TestFormatRefusesBadEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name string
		sub  Submission
	}{
		{"no recipients", Submission{Sender: "a"}},
		{"empty recipient", Submission{Recipients: []string{""}}},
		{"CR in sender", Submission{Sender: "a\r\nRCPT TO:<x>", Recipients: []string{"b"}}},
		{"NUL in recipient", Submission{Recipients: []string{"b\x00"}}},
		{"bad RET", Submission{Recipients: []string{"b"}, Ret: "ALL"}},
		{"bad NOTIFY", Submission{Recipients: []string{"b"}, Notify: "never,success"}},
		{"long ENVID", Submission{Recipients: []string{"b"}, EnvID: strings.Repeat("e", 101)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decode(encode(t, &tc.sub, "x\n")); !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := NewWriter(io.Discard, &Submission{Sender: strings.Repeat("a", maxField+1), Recipients: []string{"b"}}); err == nil {
		t.Error("an overlong sender was written")
	}
}

func TestFormatRefusesUnknownRecords(t *testing.T) {
	data := encode(t, &Submission{Recipients: []string{"b"}}, "x\n")
	// Insert an unknown record X right after the version record.
	at := len(fileMagic) + 3
	bad := append(append(bytes.Clone(data[:at]), 'X', 1, 'y'), data[at:]...)
	if _, _, err := decode(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown record: %v", err)
	}
}

func TestCanonicalNotify(t *testing.T) {
	for in, want := range map[string]string{
		"never": "NEVER", "success,delay": "SUCCESS,DELAY", "delay, failure , success": "SUCCESS,FAILURE,DELAY",
		"FAILURE": "FAILURE", "never,success": "", "bogus": "", "": "",
	} {
		if got := CanonicalNotify(in); got != want {
			t.Errorf("CanonicalNotify(%q) = %q, want %q", in, got, want)
		}
	}
}
