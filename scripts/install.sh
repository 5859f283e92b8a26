#!/bin/sh
# install.sh: install coda's service units, cron snippets and example
# configuration (make install runs it after the binary, the busybox links,
# the man pages and the scripts).
#
#   scripts/install.sh [PREFIX [DESTDIR]]   (default /usr/local, none)
#
# Units go to PREFIX/lib/systemd/system, the cron snippets (coda-clog,
# coda-backup: copy to /etc/cron.d and edit) to PREFIX/share/coda/cron, the
# logrotate snippet (copy to /etc/logrotate.d) to PREFIX/share/coda/logrotate,
# example configuration to /etc/coda/*.conf.example; @PREFIX@ in them
# becomes PREFIX. Nothing is enabled or started: after installing,
#
#   systemctl daemon-reload
#   systemctl enable --now coda-server      # on a file server
#   systemctl enable --now coda-venus       # on a client
set -eu

prefix=${1:-/usr/local}
destdir=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

# put SRC DST MODE: install SRC as DST with @PREFIX@ replaced.
put() {
	mkdir -p "$(dirname "$2")"
	sed "s|@PREFIX@|$prefix|g" "$1" > "$2.tmp"
	chmod "$3" "$2.tmp"
	mv "$2.tmp" "$2"
}

for unit in "$here"/systemd/*.service "$here"/systemd/*.timer; do
	put "$unit" "$destdir$prefix/lib/systemd/system/$(basename "$unit")" 0644
done
put "$here/auth/coda-clog.cron" "$destdir$prefix/share/coda/cron/coda-clog" 0644
put "$here/backup/coda-backup.cron" "$destdir$prefix/share/coda/cron/coda-backup" 0644
put "$here/logrotate/coda" "$destdir$prefix/share/coda/logrotate/coda" 0644
for conf in server venus; do
	put "$here/etc/$conf.conf" "$destdir/etc/coda/$conf.conf.example" 0644
done
