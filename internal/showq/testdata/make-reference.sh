#!/bin/bash
# make-reference.sh regenerates the reference queue listings in this
# directory from a private instance of Debian's Postfix 3.7 (package
# "postfix"): postqueue-empty.txt, postqueue-p.txt and postqueue-j.jsonl.
#
# The instance lives in a temporary directory (its own main.cf, master.cf,
# queue and data directories), has no inet listeners (master.cf runs no
# smtpd), relays everything to 127.0.0.1 port 9, which must be closed, so
# that mail is deferred with a reason, and is stopped again before the
# listings are taken: postqueue then runs showq directly (root only), so
# nothing changes while it reads the queue. /etc/postfix is only read
# (meta_directory). Run as root: bash make-reference.sh
#
# The queue IDs, arrival times and sizes change from run to run; the tests
# take them from postqueue-j.jsonl and everything else from their own table,
# so a regenerated reference that still has the same scenario passes.
set -euo pipefail

out=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "make-reference.sh: run as root" >&2; exit 1; }
command -v postfix >/dev/null || { echo "make-reference.sh: install Debian's postfix" >&2; exit 1; }
if (exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; then
	echo "make-reference.sh: something listens on 127.0.0.1:9; the relay must be closed" >&2
	exit 1
fi

D=$(mktemp -d /tmp/showq-ref.XXXXXX)
chmod 755 "$D" # the pipe transport runs as nobody and opens $D/fifo
conf=$D/etc
mkdir "$conf" "$D/spool" "$D/data"
chown postfix "$D/data"
mkfifo -m 666 "$D/fifo"
export TZ=UTC LC_ALL=C

running=
cleanup() {
	[ -n "$running" ] && postfix -c "$conf" stop >/dev/null 2>&1 || true
	# Release the pipe transport's command if it still waits on the FIFO.
	timeout 5 bash -c "echo release >'$D/fifo'" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "kept $D" >&2; else rm -rf "$D"; fi
}
trap cleanup EXIT

cat >"$conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
mail_owner = postfix
setgid_group = postdrop
enable_long_queue_ids = yes
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mail.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:9
transport_maps = texthash:$conf/transport
maillog_file = $D/maillog
maillog_file_prefixes = $D
queue_run_delay = 1h
minimal_backoff_time = 1h
maximal_backoff_time = 2h
EOF

# retry is error(8) deferring with the next-hop text as the reason; one
# process, so that its deferrals are logged in a stable order.
cat >"$conf/transport" <<'EOF'
discard.test	discard:
slow.test	retry:4.4.1 this destination is deferred on purpose, with a reason longer than seventy-six characters
busy.test	retry:4.2.0 mailbox busy
hang.test	hang:
EOF

cat >"$conf/master.cf" <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       1       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
hang      unix  -       n       n       -       -       pipe
  flags= user=nobody argv=/bin/sh -c { read line <$D/fifo }
EOF

# settle waits until nothing is left in maildrop and incoming, and the
# active queue holds no more than $1 files.
settle() {
	local i
	for i in $(seq 150); do
		if [ -z "$(find "$D/spool/maildrop" "$D/spool/incoming" -type f)" ] &&
			[ "$(find "$D/spool/active" -type f | wc -l)" -le "${1:-0}" ]; then
			sleep 0.5 # let the defer log and qmgr's move finish
			return
		fi
		sleep 0.2
	done
	echo "make-reference.sh: queue did not settle" >&2
	exit 1
}

qid() { # sender: the queue ID of the message from sender
	postqueue -c "$conf" -j | sed -n "s/.*\"queue_id\": \"\([^\"]*\)\".*\"sender\": \"$1\".*/\1/p"
}

submit() { # sender recipient... (message on stdin)
	local sender=$1
	shift
	sendmail -C "$conf" -f "$sender" -- "$@"
}

message() { # subject [extra body lines]
	printf 'Subject: %s\n\nThis is a test message.\n' "$1"
	local i
	for i in $(seq "${2:-0}"); do echo 'A longer body line that makes this message a few kilobytes long.'; done
}

postfix -c "$conf" start
running=1
postqueue -c "$conf" -p >"$out/postqueue-empty.txt"

# Mail for the closed relay is deferred with "connect to 127.0.0.1[127.0.0.1]:9:
# Connection refused"; each message is left to settle before the next.
message "two recipients" | submit alice@example.test one@example.net two@example.net
settle
message "bounce" | submit '<>' postmaster@example.net
settle
message "mixed" 60 | submit bob@example.test a@discard.test b@slow.test c@busy.test d@busy.test
settle
message "held" | submit carol@example.test held@example.net
settle
postsuper -c "$conf" -h "$(qid carol@example.test)" >/dev/null 2>&1
message "quoted and UTF-8" | submit frank@example.test '"john doe"@example.net' 'zoë@example.net'
settle
# A delivery interrupted (postfix stop) before it deferred every recipient
# leaves a defer log without some of them: showq lists those last, with
# "(reason unavailable)". Keep only the first of the two log entries.
message "interrupted" | submit grace@example.test three@example.net four@example.net
settle
log=$(find "$D/spool/defer" -type f -name "$(qid grace@example.test)")
[ -n "$log" ] || { echo "make-reference.sh: no defer log for grace" >&2; exit 1; }
awk '{ print } /^$/ && n++ { exit }' "$log" >"$D/log"
cat "$D/log" >"$log"
settle
message "in progress" | submit dave@example.test x@hang.test
settle 1
postfix -c "$conf" stop
running=
message "maildrop" | submit erin@example.test y@example.net 2>/dev/null

postqueue -c "$conf" -p >"$out/postqueue-p.txt" 2>"$D/stderr"
postqueue -c "$conf" -j >"$out/postqueue-j.jsonl" 2>>"$D/stderr"
grep -v 'Mail system is down -- accessing queue directly' "$D/stderr" >&2 || true
echo "wrote $out/postqueue-empty.txt $out/postqueue-p.txt $out/postqueue-j.jsonl"
