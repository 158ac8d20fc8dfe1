// Package deliver is the contract between the queue manager and the
// delivery agents (local, smtp, lmtp, discard, error): the manager hands an
// agent one message and some of its recipients, and gets one Result per
// recipient back. Agents never touch the queue file; the manager records
// the results, logs them and sends the bounces. Pass (pass.go) wraps the
// local agent for mailbox_transport.
package deliver

import (
	"context"
	"io"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// Request is one delivery attempt.
type Request struct {
	ID      string          // queue ID, for logs and Received:/forwarded copies
	Env     *queue.Envelope // read only
	Rcpts   []int           // indexes into Env.Recipients to deliver to
	Nexthop string          // the transport's next hop: a domain, "[host]:port", …
	Size    int64           // content bytes
	// Content opens the message content (headers and body, CRLF lines as
	// received); an agent may open it more than once.
	Content func() (io.ReadCloser, error)
	// Body is the content when the manager holds it in memory (a small
	// message), else nil: an agent in another process gets it with the
	// request instead of opening the queue file.
	Body []byte
	// Release, when set, tells the manager that the part of the delivery
	// that counts against the destination's concurrency is over: the
	// local agent calls it once its copies are linked into place, before
	// it waits for the directory fsync (shared with other deliveries)
	// that makes them durable, so that the next delivery to the user
	// need not wait for that fsync. The results still come only when
	// final. An agent calls it at most once, or not at all.
	Release func()
	// DirectOnly asks for a delivery while the SMTP client waits for its
	// reply (the queue manager's direct delivery): an agent that supports
	// it delivers a recipient only if that is a store of the copy that
	// waits for nobody (the local agent: the recipient's own Maildir;
	// nothing that runs a command, writes a file, sends new mail or
	// takes an mbox lock), and otherwise answers Declined without
	// trying. Only the local agent (in process or behind the root
	// agent's proxy) is asked.
	DirectOnly bool
}

// Kind is the outcome class of one recipient.
type Kind uint8

const (
	Sent     Kind = iota // delivered: remove the recipient
	Deferred             // try again later
	Bounced              // give up: notify the sender
	Declined             // not tried: Request.DirectOnly, and not a plain delivery
)

// Result is the outcome for one recipient of a Request.
type Result struct {
	Rcpt       int    // index into Env.Recipients
	Kind       Kind   //
	DSN        string // enhanced status code: "2.0.0", "4.4.1", "5.1.1"
	Reason     string // maillog status text: "delivered to maildir", "250 2.0.0 Ok"
	Relay      string // maillog relay=: "local", "mx.example.net[192.0.2.1]:25", "none"
	Action     string // RFC 3464 action when not implied by Kind: "relayed", "expanded"
	Diagnostic string // RFC 3464 Diagnostic-Code: "smtp; 550 5.1.1 …"; "" when none
	RemoteMTA  string // RFC 3464 Remote-MTA: "dns; mx.example.net"; "" for local
	// ConnUse is the maillog conn_use=: which message this is on a
	// reused connection (2, 3, …); 0 for a new connection.
	ConnUse  int
	Setup    time.Duration // delays= c: connection set-up
	Transfer time.Duration // delays= d: transmission
	// Pass lists addresses whose mailbox delivery the local agent leaves
	// to mailbox_transport (see Pass), one per line (an address holds no
	// line break; a string keeps Result comparable); Kind, DSN and
	// Reason cover the recipient's other destinations.
	Pass string `json:",omitempty"`
	// Passed, set by Pass, are the deliveries this recipient's result
	// combines, each logged on its own line as Postfix logs them: the
	// local agent's own (when it had one) and one per address handed to
	// mailbox_transport, logged by that transport with to=<address>,
	// orig_to=<recipient>. Not sent over the root agent's proxy; a
	// pointer keeps Result comparable.
	Passed *[]Passed `json:"-"`
}

// Passed is one delivery of a recipient's combined result (see
// Result.Passed).
type Passed struct {
	Transport string          // maillog program; "": the recipient's transport
	To        queue.Recipient // to= and orig_to=
	Result                    // its own outcome (Rcpt unused)
}

// Agent delivers messages. Deliver returns exactly one Result per entry of
// req.Rcpts; when ctx ends it defers what it has not finished.
type Agent interface {
	Deliver(ctx context.Context, req *Request) []Result
}
