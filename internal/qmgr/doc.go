// Package qmgr is postern's queue manager, Postfix's qmgr(8): it takes new
// messages from the incoming queue and due ones from the deferred queue,
// moves them to active, resolves each pending recipient to a transport
// and next hop (internal/route), hands recipients to delivery agents
// (internal/deliver) within per-destination and global concurrency limits,
// records every outcome in the queue file before anything else happens,
// sends the notices (internal/bounce), and then removes the message or
// defers it with Postfix's backoff until maximal_queue_lifetime.
//
// A message's life, as the maillog shows it:
//
//	qmgr:  ID: from=<s>, size=N, nrcpt=M (queue active)
//	local: ID: to=<r>, relay=local, delay=…, delays=a/b/c/d, dsn=2.0.0, status=sent (delivered to maildir)
//	bounce: ID: sender non-delivery notification: NEWID
//	qmgr:  ID: removed
//
// Crash safety follows from the order of operations: an outcome is
// persisted (Store.Update, fsynced) before the next step depends on it, so
// a recipient marked Sent is never delivered again, and a notice is queued
// before the recipients it reports on are marked Notified (a crash in
// between can send a notice twice, never lose one). Outcomes that leave
// nothing to do are persisted by removing the message durably instead
// (Store.Complete), which is cheaper than an Update followed by removal.
//
// Direct delivery (direct.go): a small message for one local Maildir
// (direct_local_delivery) or for one lmtp next hop (direct_lmtp_delivery)
// is delivered before Queue's Enqueue returns, so that the SMTP client's
// 250 follows the delivery and the message never gets a queue file; what
// such an attempt does not deliver is queued under the same queue ID.
//
// A message queued through Queue starts at once, without a scan of the
// incoming queue; scans pick up the rest (start-up, deferred mail, more
// than ActiveLimit messages at work).
//
// Slots: a delivery holds one of its destination's (window.go: slow
// start, waiters served in arrival order) and one of the process limit,
// from the hand-over to the agent until the agent reports, or earlier
// when it calls Request.Release (local delivery, before its directory
// fsync); results are recorded after the slots are free. A message of
// up to 64 KiB is read with its envelope and its content handed to the
// agents from memory.
package qmgr
