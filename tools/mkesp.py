#!/usr/bin/env python3
"""tools/mkesp.py - build a FAT32 EFI System Partition image, without root.

The image holds what the loader expects on its own volume:

    /EFI/BOOT/BOOTX64.EFI   the GNU-EFI loader (the firmware's default path)
    /kernel.elf             the kernel
    /cmdline.txt            the kernel command line (one line)
    /initrd.img             the RAM-disk image (optional)

It is made with mkfs.fat and filled with mtools (mmd, mcopy): no loop mounts.
Used by tests/runner.py (a private image per QEMU run) and by
tools/mkimage.sh (the ESP inside the bootable GPT disk image).

    tools/mkesp.py --out esp.img --loader build/BOOTX64.EFI \\
        --kernel build/kernel.elf [--cmdline "ktest.run=1"] [--initrd F]
"""

import argparse
import os
import subprocess
import sys

MIB = 1024 * 1024
# FAT32 needs at least 65525 clusters; with 512-byte clusters that is about
# 33 MiB. 64 MiB leaves room and is what firmware sees on most USB sticks.
MIN_SIZE_MIB = 64


class EspError(Exception):
    pass


def _run(cmd, env):
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise EspError("%s failed (exit %d):\n%s" %
                       (" ".join(cmd), proc.returncode, proc.stdout.strip()))


def esp_size_mib(files):
    """Image size for these files: their total plus 25% and 8 MiB of slack."""
    total = sum(os.path.getsize(f) for f in files if f)
    need = (total + total // 4 + 8 * MIB + MIB - 1) // MIB
    return max(MIN_SIZE_MIB, need)


def build_esp(out, loader, kernel, cmdline="", initrd=None, size_mib=None,
              label="KTEST", hidden_sectors=0):
    """Create the FAT image `out` (overwritten if it exists).

    hidden_sectors: the partition's first LBA when the image goes into a
    partitioned disk (recorded in the FAT boot sector), 0 for a bare image.
    """
    for what, path in (("loader", loader), ("kernel", kernel),
                       ("initrd", initrd)):
        if path and not os.path.isfile(path):
            raise EspError("%s not found: %s (run `make all` first?)" %
                           (what, path))
    if size_mib is None:
        size_mib = esp_size_mib([loader, kernel, initrd])
    if os.path.exists(out):
        os.unlink(out)

    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    outdir = os.path.dirname(os.path.abspath(out))
    cmdline_file = os.path.join(outdir, ".%s.cmdline.txt" %
                                os.path.basename(out))
    with open(cmdline_file, "w") as f:
        f.write(cmdline.strip() + "\n")
    try:
        _run(["mkfs.fat", "-C", "-F", "32", "-S", "512", "-s", "1",
              "-h", str(hidden_sectors), "-n", label, out,
              str(size_mib * 1024)], env)
        _run(["mmd", "-i", out, "::/EFI", "::/EFI/BOOT"], env)
        copies = [(loader, "::/EFI/BOOT/BOOTX64.EFI"),
                  (kernel, "::/kernel.elf"),
                  (cmdline_file, "::/cmdline.txt")]
        if initrd:
            copies.append((initrd, "::/initrd.img"))
        for src, dst in copies:
            _run(["mcopy", "-o", "-i", out, src, dst], env)
    finally:
        os.unlink(cmdline_file)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="image file to create")
    ap.add_argument("--loader", required=True, help="BOOTX64.EFI")
    ap.add_argument("--kernel", required=True, help="kernel.elf")
    ap.add_argument("--cmdline", default="", help="kernel command line")
    ap.add_argument("--initrd", default=None, help="RAM-disk image (optional)")
    ap.add_argument("--size-mib", type=int, default=None,
                    help="image size (default: fit the files, >= %d)" %
                    MIN_SIZE_MIB)
    ap.add_argument("--label", default="KTEST", help="FAT volume label")
    ap.add_argument("--hidden-sectors", type=int, default=0,
                    help="first LBA of the partition that will hold it")
    args = ap.parse_args(argv)
    try:
        build_esp(args.out, args.loader, args.kernel, args.cmdline,
                  args.initrd or None, args.size_mib, args.label,
                  args.hidden_sectors)
    except EspError as e:
        print("mkesp: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
