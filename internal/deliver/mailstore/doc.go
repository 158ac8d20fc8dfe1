// Package mailstore writes message copies into mailboxes, for the
// delivery agents that do (internal/deliver/local and
// internal/deliver/virtual): Maildir deliveries with crash-safe,
// exactly-once names, mbox appends under dotlock, fcntl or flock locks,
// the copy format Postfix writes (Return-Path:, X-Original-To:,
// Delivered-To:, the mbox From_ line and quoting), and the file system
// rights of another user for one delivery (WithFSCreds).
//
// Safety. Mailboxes are reached through an os.Root at a trusted
// directory, so nothing below it can lead outside whatever symbolic
// links a user plants; on top of that a mailbox, a Maildir and its
// tmp/new/cur must not be symbolic links at all, and an existing mailbox
// must be a regular file with one hard link that stays the file that was
// checked (Postfix's safe_open). What is created for an Owner is chowned
// on its open descriptor.
//
// Durability. A Maildir copy is written as tmp/NAME, fsynced, and linked
// as new/NAME; the fsync of new/ that makes the link durable is queued
// in a Batch, which the agent runs once every copy of its request is in
// place (after releasing the destination's delivery slot), shared with
// the other deliveries into the same new/ meanwhile. A queued message's
// copy is named "arrival.QidRn.host", the same on every attempt, so that
// a retry after a crash finds the copy instead of making a second. A
// first delivery fsyncs the directories that got a new entry. An mbox
// append is fsynced, and cut back to the old size when it fails.
package mailstore
