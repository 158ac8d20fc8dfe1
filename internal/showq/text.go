package showq

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// Column layouts of showq_compat.c. The long one (enable_long_queue_ids)
// fits postern's IDs; the short one is Postfix's historical layout.
type layout struct {
	heading string // header line
	sender  string // ID+flag, size, arrival, sender
	rcpt    string // the recipient column's indent
	date    int    // characters of asctime() shown
}

var (
	longLayout = layout{
		heading: fmt.Sprintf("%-17s %8s %-19s %s\n", "----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------"),
		sender:  "%-17s %8d %19.19s %s\n",
		rcpt:    strings.Repeat(" ", 17+1+8+1+19+1),
		date:    19,
	}
	shortLayout = layout{
		heading: fmt.Sprintf("%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------"),
		sender:  "%-11s %7d %20.20s %s\n",
		rcpt:    strings.Repeat(" ", 11+1+7+1+20+1),
		date:    20,
	}
)

// reasonEnd is the column at which a "(reason)" line ends.
const reasonEnd = 78

// WriteText writes msgs, in the order given, as postqueue -p (mailq)
// does, with arrival times in local time. longIDs selects the layout of
// enable_long_queue_ids = yes, the one that fits postern's queue IDs.
func WriteText(w io.Writer, msgs []*queue.Message, longIDs bool) error {
	return writeText(w, msgs, longIDs, time.Local)
}

func writeText(w io.Writer, msgs []*queue.Message, longIDs bool, loc *time.Location) error {
	l := shortLayout
	if longIDs {
		l = longLayout
	}
	bw := bufio.NewWriter(w)
	var count, bytes uint64
	for _, m := range msgs {
		if m == nil {
			continue
		}
		if count == 0 {
			bw.WriteString(l.heading)
		} else {
			bw.WriteString("\n")
		}
		e := newEntry(m)
		// asctime() is ANSIC plus a newline; the date column cuts it short.
		date := e.arrival.In(loc).Format(time.ANSIC)
		fmt.Fprintf(bw, l.sender, e.id+e.flag(), e.size, date, e.sender)
		shown := ""
		for _, r := range e.rcpts {
			// A "(reason)" line precedes each run of recipients sharing a
			// reason, and "(reason unavailable)" a run without one that
			// follows a reason, as in showq_compat.c.
			if r.reason != shown {
				shown = r.reason
				text := shown
				if text == "" {
					text = "reason unavailable"
				}
				bw.WriteString(strings.Repeat(" ", max(reasonEnd-2-len(text), 0)))
				bw.WriteString("(" + text + ")\n")
			}
			bw.WriteString(l.rcpt + r.addr + "\n")
		}
		count++
		bytes += uint64(max(e.size, 0))
	}
	if count == 0 {
		bw.WriteString("Mail queue is empty\n")
	} else {
		plural := "s"
		if count == 1 {
			plural = ""
		}
		fmt.Fprintf(bw, "\n-- %d Kbytes in %d Request%s.\n", bytes/1024, count, plural)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("showq: writing the queue listing: %w", err)
	}
	return nil
}
