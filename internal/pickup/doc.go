// Package pickup is the daemon side of local submission: sendmail drops
// a file into queue_directory/maildrop, pickup checks it, adds what
// Postfix's cleanup adds to locally submitted mail, queues it and logs
// "ID: uid=N from=<sender>". The package also holds what both sides
// share: the maildrop file format, the directory set-up and the
// sendmail-side writer (Create, Draft), so the format lives in one place.
//
// # Permission model
//
// No program is set-uid or set-gid. The daemon runs as mail_owner after
// start; sendmail runs as whoever calls it, and must work while the
// daemon is down. The maildrop (made by Prepare) is
//
//	drwx-wx-wt  mail_owner  mail_owner's group   (mode 3733)
//
// and each file sendmail drops there is
//
//	-rw-r-----  submitter   mail_owner's group   (mode 0640)
//
// Why this is safe:
//
//   - Identity: pickup takes the submitter's uid from fstat of the file
//     it opened, never from the file's content, the environment or the
//     name. Only root can create a file owned by someone else, so no
//     user can forge another's uid. The envelope sender is the user's
//     choice (-f), as in Postfix; the log and the Received: header carry
//     the uid.
//   - Reading: the directory has no read bit for others, so nobody but
//     mail_owner lists it; names are 128 random bits; and the file mode
//     gives others no access even to a known name. The group is
//     mail_owner's through the directory's set-gid bit (a user cannot
//     chgrp a file to a group they are not in, but the kernel does it for
//     them), so pickup reads the file through the group while it runs as
//     mail_owner. mail_owner's group must have no other members
//     ("useradd --system" creates a group of its own).
//   - Removing, replacing: the sticky bit lets only a file's owner (and
//     mail_owner, root) unlink or rename over it.
//   - Tricks: pickup opens with O_NOFOLLOW|O_NONBLOCK and takes only
//     regular files with one link and no write permission for others, so
//     symbolic links, FIFOs and hard links to other users' files (where
//     fs.protected_hardlinks is off) are refused and removed.
//   - Partial files: sendmail writes "t.NAME", fsyncs it and renames it
//     to "m.NAME"; pickup takes only "m." files, and removes "t." files
//     left for a day by a killed sendmail. A submitter can still change
//     their own file while pickup reads it: the checksum and the bounds
//     on every record keep that to their own message.
//
// We chose the set-gid maildrop over a Unix socket with SO_PEERCRED: the
// socket works only while the daemon runs, so a maildrop is needed
// anyway, and one path is easier to get right than two. World-readable
// files (0644) behind a non-listable directory were rejected too: they
// rest on the names staying secret.
//
// sendmail wakes a running pickup with a datagram on
// queue_directory/public/pickup (any user may send one; its content is
// ignored); pickup also scans every PollInterval and at start, which
// queues what was dropped while the daemon was down.
//
// # Maildrop file format (version 1)
//
// The 17 bytes "POSTERN-MAILDROP\n", then records
//
//	type (1 byte) | length (uvarint) | payload
//
// in this order: V (format version, uvarint 1); S (sender, "" for <>,
// exactly one); F (full name), R (recipient, one or more), N (NOTIFY),
// T (RET), I (ENVID), B (flags, uvarint: 1 = 8BITMIME), the optional ones
// at most once; M (up to 64 KiB of content, zero or more); E (the content
// size as a uvarint, then the CRC-32C, big-endian, of every byte of the
// file before those 4). Envelope strings are at most 4 KiB, the envelope
// at most 16 MiB. Content is the message as submitted, line ends LF or
// CRLF; pickup queues it with CRLF. The queue's own record format was
// not reused because internal/queue does not export it, and a maildrop
// file has a different job: it is untrusted input, read once.
package pickup
