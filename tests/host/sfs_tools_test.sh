#!/usr/bin/env bash
# tests/host/sfs_tools_test.sh - mkfs_sfs and fsck_sfs end to end (part of
# make host-tests): copy a host tree into an image and list it clean;
# symbolic links (kept inside a tree, followed on the command line,
# --symlink); files
# larger than 4 MiB (through the double indirect block) and a sparse 5 GiB
# host file (data at both ends: a handful of blocks, through the triple
# indirect block); --max-size and its default; --sparse-image; the bitmap
# that a default --max-size needs refused in a tiny image, with a hint; a
# version 1 image refused with the message naming both versions; an image
# of zeros refused.
#
#   tests/host/sfs_tools_test.sh MKFS FSCK WORKDIR
set -euo pipefail

mkfs=$1 fsck=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
fails=0
fail() {
	echo "FAIL sfs tools: $*"
	fails=$((fails + 1))
}
# expect FILE REGEX: a line of FILE matches REGEX.
expect() {
	grep -Eq -- "$2" "$1" || fail "$1 has no line matching '$2':$(printf '\n'; cat "$1")"
}

# A host tree, then the whole tests/host directory.
"$mkfs" "$dir/tree.img" 4096 tests/host:/t/host >/dev/null
"$fsck" --list "$dir/tree.img" >"$dir/tree.txt"
expect "$dir/tree.txt" '^/t/host/sfs_test.c '
expect "$dir/tree.txt" '^fsck: clean \(.* blocks used of 1024, at most 4194304\)$'

# Symbolic links: one inside a copied tree stays a link (as cp -r), one
# named on the command line is followed, --symlink makes one.
mkdir -p "$dir/lt/sub"
printf data >"$dir/lt/f"
ln -sf f "$dir/lt/lf"
ln -sf /nowhere "$dir/lt/sub/dangling"
"$mkfs" "$dir/links.img" 1M "$dir/lt:/lt" "$dir/lt/lf:/copied" --symlink /abs=/lt/f >/dev/null
"$fsck" --list "$dir/links.img" >"$dir/links.txt"
expect "$dir/links.txt" '^/lt/lf +link +inode [0-9]+ +-> f$'
expect "$dir/links.txt" '^/lt/sub/dangling +link +inode [0-9]+ +-> /nowhere$'
expect "$dir/links.txt" '^/copied +file +inode [0-9]+ +4 bytes'
expect "$dir/links.txt" '^/abs +link +inode [0-9]+ +-> /lt/f$'
expect "$dir/links.txt" '^fsck: clean '

# Large files: 5 MiB of data (12 + 1024 + 197 blocks: the double indirect
# block and one indirect block under it) and a 5 GiB sparse file with 4
# bytes at each end (2 data blocks + the triple indirect block and one
# block of each level under it).
head -c $((5 * 1024 * 1024)) /dev/urandom >"$dir/r5m"
printf head >"$dir/s5g"
truncate -s $((5 * 1024 * 1024 * 1024 - 4)) "$dir/s5g"
printf tail >>"$dir/s5g"
"$mkfs" "$dir/big.img" 8M --max-size 0 "$dir/r5m:/r5m" "$dir/s5g:/d/s5g" >"$dir/big.out"
expect "$dir/big.out" '8192 KiB, 2048 blocks .*may grow to 2048\)'
"$fsck" --list "$dir/big.img" >"$dir/big.txt"
expect "$dir/big.txt" '^/r5m +file +inode [0-9]+ +5242880 bytes, 1283 blocks, 1 links$'
expect "$dir/big.txt" '^/d/s5g +file +inode [0-9]+ +5368709120 bytes, 5 blocks, 1 links$'
expect "$dir/big.txt" '^fsck: clean \(2 files, 2 dirs, [0-9]+ blocks used of 2048, at most 2048\)$'

# --sparse-image: 1 GiB on the host that takes a few blocks of its disk.
"$mkfs" "$dir/sparse.img" 1G --inodes 31 --sparse-image "$dir/s5g:/s5g" >/dev/null
[ "$(stat -c %s "$dir/sparse.img")" -eq $((1 << 30)) ] || fail "sparse.img is not 1 GiB"
used_kib=$(du -k "$dir/sparse.img" | cut -f1)
[ "$used_kib" -lt 2048 ] || fail "sparse.img takes $used_kib KiB of the host's disk"
"$fsck" "$dir/sparse.img" >"$dir/sparse.txt"
expect "$dir/sparse.txt" '^fsck: clean \(1 files, 1 dirs, [0-9]+ blocks used of 262144, at most 4194304\)$'

# The default bitmap (16 GiB: 128 blocks) does not fit 64 KiB: refused, with
# the hint; --max-size 64K makes it.
if "$mkfs" "$dir/tiny.img" 64 2>"$dir/tiny.err"; then fail "a 64 KiB image with a 16 GiB bitmap"; fi
expect "$dir/tiny.err" 'too small for a bitmap of 128 blocks.*smaller --max-size'
"$mkfs" "$dir/tiny.img" 64 --max-size 64K >/dev/null
"$fsck" "$dir/tiny.img" >"$dir/tiny.txt"
expect "$dir/tiny.txt" '^fsck: clean \(0 files, 1 dirs, 3 blocks used of 16, at most 16\)$'

# A version 1 image: refused, both versions named.
python3 - "$dir/tiny.img" "$dir/v1.img" <<'PY'
import struct, sys
img = bytearray(open(sys.argv[1], "rb").read())
img[4:8] = struct.pack("<I", 1)
h = 2166136261
for b in img[:64]:
    h = ((h ^ b) * 16777619) & 0xffffffff
img[64:68] = struct.pack("<I", h)
open(sys.argv[2], "wb").write(img)
PY
if "$fsck" "$dir/v1.img" >"$dir/v1.txt"; then fail "fsck accepted a version 1 image"; fi
expect "$dir/v1.txt" 'SFS version 1 image: this kernel and its tools read version 2; rebuild the image with tools/mkfs_sfs'

# Zeros.
head -c 16384 /dev/zero >"$dir/zero.img"
if "$fsck" "$dir/zero.img" >"$dir/zero.txt"; then fail "fsck accepted an image of zeros"; fi
expect "$dir/zero.txt" 'bad magic'

# Bad arguments.
for args in "0" "6" "4X" "-4" "16T"; do
	if "$mkfs" "$dir/bad.img" $args 2>/dev/null; then fail "mkfs accepted SIZE '$args'"; fi
done

if [ "$fails" -ne 0 ]; then
	echo "sfs tools: $fails failed"
	exit 1
fi
echo "sfs tools: mkfs + fsck ok"
