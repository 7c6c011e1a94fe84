/*
 * boot/files.h - read whole files from the loader's own volume.
 */
#ifndef BOOT_FILES_H
#define BOOT_FILES_H

#include <efi.h>

/* Open the root directory of the volume the loader was started from. */
EFI_STATUS vol_open_root(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, EFI_FILE_HANDLE *root);

/* Open path (e.g. L"\\kernel.elf") for reading and return its size.
 * EFI_NOT_FOUND if it does not exist; a directory is EFI_NOT_FOUND too. */
EFI_STATUS file_open(EFI_FILE_HANDLE root, CHAR16 *path, EFI_FILE_HANDLE *fh, UINT64 *size);

/* Read exactly size bytes from the start of fh into buf. */
EFI_STATUS file_read(EFI_FILE_HANDLE fh, void *buf, UINT64 size);

void file_close(EFI_FILE_HANDLE fh);

/* The kernel takes a command line of at most CMDLINE_MAX bytes
 * (kernel/cmdline.h). For a longer one (len bytes after the loader's
 * clean-up) print "loader: error: cmdline.txt is N bytes, more than the M the
 * kernel accepts" and return EFI_BAD_BUFFER_SIZE: the boot must fail rather
 * than lose the tail. */
EFI_STATUS cmdline_check_size(UINT64 len);

/* Log `loader: cmdline: "<the len bytes at s>"`, all of it: a line longer
 * than one log_msg() holds (511 bytes) is logged in parts of 400 bytes,
 * `loader: cmdline (N bytes, part i of K): "..."`. */
void cmdline_log(const char *s, UINT64 len);

#endif
