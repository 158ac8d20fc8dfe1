#!/bin/sh
# Captures the Postfix notices in this directory (TestPostfixConformance
# compares Compose with them). Needs root and Debian's postfix package;
# runs a private Postfix instance without network listeners in
# /var/tmp/pfbounce and stops it again. Usage: sudo ./capture.sh
set -eu
P=/var/tmp/pfbounce
OUT=$(cd "$(dirname "$0")" && pwd)
[ -e $P/q/pid/master.pid ] && postfix -c $P stop || true
rm -rf $P; mkdir -p $P/q $P/data $P/mail; chmod 1777 $P/mail; chown postfix $P/data
grep -v -e '^#' -e '^$' -e '^ ' /usr/share/postfix/master.cf.dist |
	grep -E '^(pickup|cleanup|qmgr|rewrite|bounce|defer|trace|verify|flush|proxymap|proxywrite|showq|error|retry|discard|local|anvil|scache|postlog) ' |
	awk '$5=="y"{$5="n"}1' >$P/master.cf
cat >$P/main.cf <<EOC
compatibility_level = 3.6
myhostname = mx.example.test
mydomain = example.test
mydestination = \$myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
queue_directory = $P/q
data_directory = $P/data
mail_spool_directory = $P/mail
alias_maps =
alias_database =
maillog_file = $P/maillog
smtputf8_enable = no
transport_maps = inline:{ {fail.example.test=error:5.1.1 mailbox unavailable}, {slow.example.test=retry:4.4.1 try later}, {long.example.test=error:5.7.1 this is a very long rejection text that goes on and on past the seventy-nine column limit of the bounce wrapper for sure yes} }
delay_warning_time = 1s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
notify_classes = bounce, 2bounce, resource, software
bounce_notice_recipient = sync
2bounce_notice_recipient = games
EOC
postfix -c $P start
sleep 1
sm() { sendmail -C $P "$@"; }
bs() { printf "$1" | sendmail -C $P -bs >/dev/null; sleep 1; }
printf 'From: Root <root@mx.example.test>\nTo: x@fail.example.test\nSubject: test one\nMessage-ID: <one@client.example>\n\nHello there.\n' | sm -f root@mx.example.test x@fail.example.test
sleep 1
bs 'EHLO client.example\r\nMAIL FROM:<daemon@mx.example.test>\r\nRCPT TO:<a@fail.example.test> ORCPT=rfc822;orig-a@example.org NOTIFY=FAILURE\r\nRCPT TO:<b@fail.example.test>\r\nDATA\r\nFrom: d@mx.example.test\r\nSubject: two\r\n\r\nbody line\r\n.\r\nQUIT\r\n'
printf 'From: bin@mx.example.test\nSubject: three\n\nbody three\n' | sm -f bin@mx.example.test -R hdrs -V envid-3 x@fail.example.test
bs 'EHLO client.example\r\nMAIL FROM:<sys@mx.example.test> BODY=8BITMIME\r\nRCPT TO:<c@fail.example.test>\r\nDATA\r\nFrom: sys@mx.example.test\r\nSubject: eight\r\n\r\nGr\303\274\303\237e aus K\303\266ln\r\n.\r\nQUIT\r\n'
(printf 'From: nobody@mx.example.test\nSubject: big\n\n'; seq 1 1000 | sed 's/.*/line & xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/') |
	sm -f nobody@mx.example.test x@fail.example.test
bs 'EHLO client.example\r\nMAIL FROM:<mail@mx.example.test>\r\nRCPT TO:<news@mx.example.test> NOTIFY=SUCCESS\r\nDATA\r\nSubject: six\r\n\r\nhi\r\n.\r\nQUIT\r\n'
printf 'From: lp@mx.example.test\nSubject: seven\n\nslow body\n' | sm -f lp@mx.example.test y@slow.example.test
bs 'EHLO client.example\r\nMAIL FROM:<>\r\nRCPT TO:<z@fail.example.test>\r\nDATA\r\nSubject: eight null\r\n\r\nnull body\r\n.\r\nQUIT\r\n'
printf 'Subject: long\n\nx\n' | sm -f proxy@mx.example.test q@long.example.test
sleep 5
postsuper -c $P -d ALL
postfix -c $P stop
# One mailbox message: without mbox framing and local(8)'s delivery headers.
extract() { # mailbox, nth message (1-based), output
	awk -v n="$2" '/^From /{m++; hdr=1; next} m==n' "$P/mail/$1" |
		awk 'NR==1,/^$/{if ($0 ~ /^(Return-Path|X-Original-To|Delivered-To):/) next} {print}' |
		sed '$d' >"$OUT/$3"
}
extract root 1 01-failure.eml
extract daemon 1 02-multi-orcpt.eml
extract bin 1 03-ret-hdrs-envid.eml
extract sys 1 04-8bit.eml
extract nobody 1 05-oversize.eml
extract mail 1 06-success.eml
extract lp 1 07-delay.eml
extract games 1 08-double-bounce.eml
extract sync 1 09-postmaster-copy.eml # the copy of 01 (sent first)
extract proxy 1 10-long-reason.eml
