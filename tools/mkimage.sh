#!/usr/bin/env bash
# tools/mkimage.sh - the bootable disk image of `make image`.
#
#   tools/mkimage.sh OUT LOADER KERNEL CMDLINE [INITRD]
#
# OUT is a GPT disk with one EFI System Partition (type EF00, FAT32) holding
# /EFI/BOOT/BOOTX64.EFI, /kernel.elf, /cmdline.txt (= CMDLINE) and, if given,
# /initrd.img. Written to a USB stick it boots on a UEFI machine; QEMU boots
# it with `tests/runner.py --disk OUT`. No root needed: the FAT image is
# built by tools/mkesp.py and copied in at the partition offset with dd.
set -euo pipefail

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
	echo "usage: $0 OUT LOADER KERNEL CMDLINE [INITRD]" >&2
	exit 2
fi
out=$1 loader=$2 kernel=$3 cmdline=$4 initrd=${5:-}
here=$(cd "$(dirname "$0")" && pwd)

start=2048        # first LBA of the ESP: 1 MiB, aligned for flash media
tail_sectors=2048 # room at the end for the backup GPT (33 sectors), aligned

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 "$here/mkesp.py" --out "$tmp/esp.img" --loader "$loader" \
	--kernel "$kernel" --cmdline "$cmdline" ${initrd:+--initrd "$initrd"} \
	--label KERNEL_ESP --hidden-sectors "$start"

esp_sectors=$(($(stat -c %s "$tmp/esp.img") / 512))
end=$((start + esp_sectors - 1))
total=$((end + 1 + tail_sectors))

mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
truncate -s $((total * 512)) "$out.tmp"
sgdisk --clear \
	--new=1:"$start":"$end" --typecode=1:EF00 --change-name=1:"EFI System" \
	"$out.tmp" >/dev/null
dd if="$tmp/esp.img" of="$out.tmp" bs=512 seek="$start" conv=notrunc,sparse \
	status=none
sgdisk --verify "$out.tmp" >/dev/null
mv "$out.tmp" "$out"

echo "image: $out ($((total / 2048)) MiB, GPT, ESP at LBA $start)"
echo "image: write it with: sudo dd if=$out of=/dev/sdX bs=4M conv=fsync" \
	"(check the device name with lsblk: everything on it is lost)"
