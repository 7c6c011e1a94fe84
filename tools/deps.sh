#!/usr/bin/env bash
# tools/deps.sh - make sure the Debian packages the build and the tests need
# are installed.
#
# All present: returns at once (one dpkg-query). Something missing: installs
# it with apt-get when run as root, otherwise prints the exact command to run
# and exits 1. `make run`, `make test`, `make image` and `make debug` call it
# (e2fsprogs: `make compare` formats Linux's ext2 RAM disk with mke2fs).
set -euo pipefail

PACKAGES=(gcc make binutils nasm gnu-efi qemu-system-x86 ovmf mtools dosfstools gdisk python3
	musl-tools libc6-dev e2fsprogs)

missing=()
# dpkg-query prints one "name status" line per known package; unknown ones
# only produce a message on stderr, so compare against the full list.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
	if ! grep -qx "$p installed" <<<"$installed"; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing missing packages: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
	exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}" >&2
echo "deps: install them with:" >&2
echo "    sudo apt-get install ${missing[*]}" >&2
exit 1
