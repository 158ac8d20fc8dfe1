package showq

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/postern-mta/postern/internal/queue"
)

// WriteJSON writes msgs, in the order given, as postqueue -j does: one
// JSON object per line, with showq_json.c's members, order and spacing:
//
//	{"queue_name": "deferred", "queue_id": "…", "arrival_time": 1764001351,
//	"message_size": 275, "forced_expire": false, "sender": "…",
//	"recipients": [{"address": "…", "delay_reason": "…"}]}
//
// (on one line); delay_reason is present only when there is a reason.
func WriteJSON(w io.Writer, msgs []*queue.Message) error {
	bw := bufio.NewWriter(w)
	var b []byte
	for _, m := range msgs {
		if m == nil {
			continue
		}
		e := newEntry(m)
		b = append(b[:0], `{"queue_name": `...)
		b = appendJSONString(b, e.queue)
		b = append(b, `, "queue_id": `...)
		b = appendJSONString(b, e.id)
		b = append(b, `, "arrival_time": `...)
		b = strconv.AppendInt(b, e.arrival.Unix(), 10)
		b = append(b, `, "message_size": `...)
		b = strconv.AppendInt(b, e.size, 10)
		b = append(b, `, "forced_expire": false, "sender": `...)
		b = appendJSONString(b, e.sender)
		b = append(b, `, "recipients": [`...)
		for i, r := range e.rcpts {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, `{"address": `...)
			b = appendJSONString(b, r.addr)
			if r.reason != "" {
				b = append(b, `, "delay_reason": `...)
				b = appendJSONString(b, r.reason)
			}
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		bw.Write(b)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("showq: writing the JSON queue listing: %w", err)
	}
	return nil
}

// appendJSONString quotes s as quote_for_json does: '"' and '\' are
// escaped, UTF-8 and '/', '<', '>', '&' stay as they are (encoding/json
// would escape the last three). Entries hold no control characters
// (printable), but any that got here would still be escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = fmt.Appendf(b, "\\u%04X", c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
