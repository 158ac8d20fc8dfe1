// The on-disk queue: Store keeps one file per message under the
// queue_directory, in Postfix's directories (maildrop, incoming, active,
// deferred, hold, corrupt) plus "tmp", where files are written before
// they are linked into a queue. A message is acknowledged (Enqueue
// returns its ID) only after its file and the directory entry that names
// it are on disk.
//
// # Queue file format (version 2)
//
// A queue file is the 8 bytes "POSTERNQ" followed by records. Every
// record is
//
//	type (1 byte) | length (uvarint) | payload (length bytes) | CRC-32C (4 bytes, big-endian)
//
// where the checksum (Castagnoli) covers type, length and payload, so a
// record cut short or overwritten with garbage is recognised. Strings
// inside payloads are a uvarint length and the bytes; times are a varint
// of Unix seconds and a uvarint of nanoseconds (the zero time.Time is
// its own Unix seconds and reads back as the zero time). No record is
// longer than 1 MiB. The records, in order:
//
//	V  header: format version (uvarint, 2; 1 in files written before
//	   2026-12-07, still read) and the offset of the E record (8 bytes,
//	   big-endian). A build older than version 2 finds the newer files
//	   of an "unknown format version" and moves them to corrupt: drain
//	   the queue (postqueue -f, then wait for it to be empty) before
//	   going back to such a build.
//	I  queue ID (must match the file name)
//	T  arrival time
//	S  sender ("" = the null sender)
//	R  recipient: address, NOTIFY, ORCPT, and the original address when it
//	   differs (one record per recipient, in order)
//	C  client: address, name, HELO name, protocol
//	F  flags: uvarint bit set, 1 = BODY=8BITMIME, 2 = SMTPUTF8
//	D  DSN: RET, ENVID
//	M  content: up to 64 KiB of the message, exactly as enqueued (zero or more)
//	E  end marker: the total content size (uvarint), then the CRC-32C
//	   (4 bytes, big-endian) of the file from the I record to the E
//	   record, envelope and content (absent in version 1, whose files
//	   were synced before they were named)
//	U  recipient states: count, then per entry the recipient index, state,
//	   notified (1 byte each after the index), action, DSN code, reason,
//	   diagnostic, remote MTA and the time (zero or more, appended later;
//	   one update of many recipients is split into records of about
//	   64 KiB, and texts are cut at 16 KiB)
//	W  a delay warning was sent (empty payload; appended later)
//	A  next attempt time (appended later)
//
// A file is complete when the V record is valid and a valid E record
// sits at the offset V names: truncating a file anywhere before the end
// of E, or tearing V, the envelope or E, makes Read report ErrCorrupt.
// The E offset is written into V after the content has been streamed,
// before the file's fsync, so content is never held in memory. M
// records are checked when the content is read (Content), not by Read;
// the E record's checksum of the envelope and content by recovery, for
// the files in incoming (see Recovery).
//
// # Per-recipient state
//
// State changes (U, W, A) are appended after E and fsynced. Nothing
// already written is ever overwritten, so a torn append can only damage
// the new record: its checksum fails, readers ignore it and everything
// after it, and the previous state stays valid. The next append first
// cuts the file back to the last valid record, so a torn record never
// hides later ones. Later U entries for a recipient replace earlier ones.
// We chose appending over rewriting a state area in place (a torn
// in-place write destroys the old state too, unless it is double
// buffered) and over a sidecar file (two files per message cannot be
// moved between queues atomically). To bound growth, when the appended
// area outgrows both 64 KiB and twice a full snapshot of the state, the
// file is rewritten with a single snapshot (temporary file, fsync, rename
// over the old one, fsync the directory).
//
// NextAttempt is stored in the file (A), not in the file's mtime as
// Postfix does, so that it is checksummed and survives copying.
//
// # Durability
//
// Enqueue writes tmp/ID (O_EXCL), or overwrites a spare file (below) and
// cuts it to length, fsyncs it (fdatasync: the file is read back by its
// content, never by its timestamps, so overwriting a spare of the same
// size writes no inode), links it as incoming/ID (a link never replaces
// an existing file, unlike rename), unlinks the temporary name and
// fsyncs incoming/. An Enqueue alone in incoming's fsync group (one
// session sending message after message: nobody to share the directory
// fsync with) links the file first and then runs both flushes at the
// same time, one flush's wait instead of two in a row; it returns (and
// the client gets its 250) when both are done. The file is complete
// before its link, so every reader that finds the name finds the whole
// message; but a power loss
// during the flushes may leave the name on disk over data that is not
// (the spare's previous message, zeros, or some of each): such a
// message was never acknowledged, and recovery, which checks the files
// of incoming whole against their end marker's checksum, moves it to
// corrupt. Every way out of incoming but to active (Move: postsuper -h,
// a deferral goes through active and fsyncs the file) flushes the
// file's data first, so that only incoming (and active, which recovery
// moves back there) can hold such a file. A message enqueued with
// Envelope.Hold (a content stage's quarantine) is always flushed first
// and then linked as hold/ID, and hold/ fsynced: it is never in
// incoming, where the queue manager would take it. Concurrent Enqueue
// calls share the directory fsync
// (group commit, package fsyncgroup): one fsync of a directory covers
// every link or rename finished before it started. An Enqueue announces
// itself to the directory's group once its content is written, and the
// first caller waits (up to a millisecond) for company only while other
// announced Enqueues are on their way, so that one session sending
// message after message never waits. If any step fails, the
// message is removed again and Enqueue returns an error; ENOSPC (and
// EDQUOT) are reported as ErrNoSpace (a SpaceError, whose First marks
// the first refusal of a shortage: the store logs nothing about space,
// its caller logs that one under its own name). SetSpaceLimits changes
// the free-space rule while the store is open (a reload). Move renames a file and fsyncs the
// destination directory, then the source directory. Update, SetDelayWarned
// and Defer fsync the file after appending. (Postfix, qmail and chasquid
// skip the directory fsyncs; we do not.) A queue manager that scans
// incoming may see a message between its link and the end of the
// flushes; if one of them then fails (or the client goes away), the
// message may be delivered although the client was refused and will
// send it again: a duplicate, never a loss.
//
// Complete removes a finished message: the removal itself records that
// nothing is left to do, so the queue manager need not append and fsync
// the last outcomes first. Nobody waits for the removal to reach the
// disk: the store fsyncs the directory in the background, once for every
// removal of the last removeDelay (10 ms). A power loss before that may
// bring the message back with its last outcomes unrecorded, so it is
// delivered again: a duplicate, never a loss (Postfix never fsyncs a
// removal). Its file is neither scrubbed nor reused before that fsync.
//
// An ID that Enqueue gets from NewID in the process that opened the
// store, newer than every ID found at Open, is not looked up in the
// other queue directories (see fresh): the PID and a clock that never
// repeats make it unique, and Open moves NewID's clock past the newest
// ID on disk in case the clock went back.
//
// # Spare files
//
// Creating a file costs the file system much more than overwriting one
// (an inode allocation; on ext4 without a journal, a scan past every
// recently freed inode of the group). So Complete renames a finished
// file to tmp/spare.* instead of unlinking it; the spare joins the pool
// once the removal is durable (after the directory fsync, so that no
// crash can bring the old name back to a file holding another message),
// and Enqueue writes the next message into a spare. The pool is bounded (maxSpares files,
// maxSpareBytes bytes; larger files are removed); CheckSpace gives the
// spares' space back when the disk runs short. A spare keeps nothing of
// its message: Complete overwrites the content with zeros (unsynced:
// blocks stay allocated and written, so reuse changes no metadata)
// before the file joins the pool, and recovery does the same to the
// spares it adopts, in case a crash undid it. A reader of a message's
// content must be closed before Complete.
//
// The file fsyncs are not shared. syncfs(2), one flush of the whole file
// system per batch, was measured and not kept: no faster than concurrent
// fsyncs on ext4 (whose journal already merges them), not named in
// package syscall on amd64, and it flushes unrelated files too.
//
// # Recovery
//
// Open removes every file in tmp (an Enqueue that never returned) but
// spares with no other name, which it scrubs and keeps in the pool, moves
// files from active back to incoming (the queue manager schedules them
// again) and moves files in incoming, deferred and hold whose header,
// envelope or end marker is damaged to corrupt, logging "corrupt queue
// file"; in incoming it also reads every file whole and checks its
// envelope and content against the end marker's checksum (a file named
// before its data reached the disk, see Durability), and puts one it
// cannot read for another reason than EIO on hold rather than let it be
// delivered unchecked. Open therefore assumes it is the only process writing the
// queue; tools that only read a live queue set Options.NoRecover.
// Maildrop is left alone: other programs write it.
package queue
