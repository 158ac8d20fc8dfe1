package showq

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

func TestWriteJSON(t *testing.T) {
	arrival := "1793783107" // arrivedAt
	tests := []struct {
		name string
		msgs []*queue.Message
		want string
	}{
		{"empty queue", nil, ""},
		{"one recipient with reason, one without", []*queue.Message{
			newMsg(queue.Deferred, "s@example.test", 512, pending("a@example.net"), delayed("b@example.net", "mailbox busy")),
		}, `{"queue_name": "deferred", "queue_id": "` + testID + `", "arrival_time": ` + arrival +
			`, "message_size": 512, "forced_expire": false, "sender": "s@example.test", "recipients": ` +
			`[{"address": "b@example.net", "delay_reason": "mailbox busy"}, {"address": "a@example.net"}]}` + "\n"},
		{"null sender, no recipients left, two lines", []*queue.Message{
			newMsg(queue.Hold, "", 0),
			newMsg(queue.Active, "s@example.test", 1, pending("r@example.net")),
		}, `{"queue_name": "hold", "queue_id": "` + testID + `", "arrival_time": ` + arrival +
			`, "message_size": 0, "forced_expire": false, "sender": "MAILER-DAEMON", "recipients": []}` + "\n" +
			`{"queue_name": "active", "queue_id": "` + testID + `", "arrival_time": ` + arrival +
			`, "message_size": 1, "forced_expire": false, "sender": "s@example.test", "recipients": [{"address": "r@example.net"}]}` + "\n"},
		{"quotes and backslashes escaped, <>&/ and UTF-8 kept, controls replaced", []*queue.Message{
			newMsg(queue.Deferred, `"a\b"@example.test`, 7, delayed("zoë@example.net", "<x@y> said: 4.2.0 a/b & c\x1b")),
		}, `{"queue_name": "deferred", "queue_id": "` + testID + `", "arrival_time": ` + arrival +
			`, "message_size": 7, "forced_expire": false, "sender": "\"a\\b\"@example.test", "recipients": ` +
			`[{"address": "zoë@example.net", "delay_reason": "<x@y> said: 4.2.0 a/b & c?"}]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tt.msgs); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

// TestJSONDecodes checks that every line is JSON that decodes back to
// the (printable) values, whatever bytes the strings hold.
func TestJSONDecodes(t *testing.T) {
	nasty := []string{`"`, `\`, `\u0041`, "a\x00b", "\x7f", "\xff", "ü", "</script>", "\t\n"}
	var msgs []*queue.Message
	for _, s := range nasty {
		m := newMsg(queue.Deferred, s+"@example.test", 1, delayed(s, s))
		m.ID = s
		msgs = append(msgs, m)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, msgs); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	for i := 0; sc.Scan(); i++ {
		var got struct {
			ID         string `json:"queue_id"`
			Sender     string `json:"sender"`
			Recipients []struct {
				Address string `json:"address"`
				Reason  string `json:"delay_reason"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, sc.Text(), err)
		}
		p := printable(nasty[i])
		if got.ID != p || got.Sender != p+"@example.test" || len(got.Recipients) != 1 ||
			got.Recipients[0].Address != p || got.Recipients[0].Reason != p {
			t.Errorf("line %d %q decodes to %+v, want %q everywhere", i, sc.Text(), got, p)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	// Controls never reach it from an entry, but are escaped like
	// quote_for_json if they do.
	got := string(appendJSONString(nil, "a\"b\\c\x01\x7fd"))
	if want := `"a\"b\\c\u0001\u007Fd"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("%s is not valid JSON", got)
	}
}

func TestWriteJSONError(t *testing.T) {
	boom := errors.New("pipe closed")
	msgs := []*queue.Message{newMsg(queue.Deferred, "s@example.test", 1, pending("r@example.net"))}
	err := WriteJSON(failWriter{boom}, msgs)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "showq") {
		t.Errorf("WriteJSON error %v, want it to wrap %v", err, boom)
	}
}
