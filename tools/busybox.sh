#!/usr/bin/env bash
# tools/busybox.sh DEST STUB APPLET... - Debian's busybox-static for the
# RAM disk, taken out of its package without installing it (installing it
# would replace the host's own busybox), as tools/compare/linux.py does for
# the Linux kernel: `apt-get download busybox-static` into DEST/deb/,
# `dpkg-deb -x` into DEST/root/. Cached: nothing is downloaded when
# DEST/root/bin/busybox exists; a .deb put in DEST/deb/ by hand is used as
# it is (offline).
#
# Writes DEST/files, the mkfs_sfs arguments that put it in the initrd:
# DEST/root/bin/busybox as /bin/busybox (HOSTPATH:/path) and a symbolic
# link /bin/APPLET -> busybox for each APPLET (--symlink), as Debian's
# busybox package makes them. STUB is no longer used (kept for the
# argument order). Without
# network and without a .deb, DEST/files is empty and the initrd has no
# shell: a warning, not an error (the shell tests then skip), unless
# BUSYBOX_REQUIRED=1.
set -euo pipefail

dest=$(mkdir -p "$1" && cd "$1" && pwd) stub=$2
shift 2
mkdir -p "$dest/deb"
bin="$dest/root/bin/busybox"
files="$dest/files"

if [ ! -x "$bin" ]; then
	deb=$(ls "$dest"/deb/busybox-static_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		echo "busybox: downloading busybox-static (apt-get download, not installed)" >&2
		if ! (cd "$dest/deb" && apt-get download busybox-static >/dev/null 2>"$dest/apt.log"); then
			echo "busybox: apt-get download busybox-static failed:" >&2
			sed 's/^/    /' "$dest/apt.log" >&2 || true
			echo "busybox: put busybox-static_*.deb in $dest/deb/ by hand (any Debian" >&2
			echo "busybox: machine: apt-get download busybox-static); no shell in the initrd" >&2
			[ "${BUSYBOX_REQUIRED:-0}" = 1 ] && exit 1
			: >"$files"
			exit 0
		fi
		deb=$(ls "$dest"/deb/busybox-static_*.deb | tail -n 1)
	fi
	rm -rf "$dest/root.tmp"
	dpkg-deb -x "$deb" "$dest/root.tmp"
	[ -x "$dest/root.tmp/bin/busybox" ] || { echo "busybox: $deb has no bin/busybox" >&2; exit 1; }
	rm -rf "$dest/root"
	mv "$dest/root.tmp" "$dest/root"
	basename "$deb" .deb >"$dest/package"
fi

{
	echo "$bin:/bin/busybox"
	for a in "$@"; do
		echo "--symlink /bin/$a=busybox"
	done
} >"$files.tmp"
mv "$files.tmp" "$files"
