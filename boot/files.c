/*
 * boot/files.c - Simple File System access for the loader.
 *
 * The loader reads from the volume it was loaded from
 * (LoadedImage->DeviceHandle), never from "the first FAT volume": on a
 * machine with several ESPs it must pick up the kernel that sits next to it.
 */
#include "boot/files.h"
#include "boot/console.h"
#define CMDLINE_LIMIT_ONLY /* CMDLINE_MAX alone, no kernel declarations */
#include "kernel/cmdline.h"

#define READ_CHUNK (16ULL << 20) /* some firmware dislikes huge single reads */

EFI_STATUS vol_open_root(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, EFI_FILE_HANDLE *root)
{
	EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_GUID fs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	EFI_FILE_IO_INTERFACE *fs;
	EFI_STATUS st;

	st = uefi_call_wrapper(bs->HandleProtocol, 3, image, &li_guid, (void **)&li);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(bs->HandleProtocol, 3, li->DeviceHandle, &fs_guid, (void **)&fs);
	if (EFI_ERROR(st))
		return st;
	return uefi_call_wrapper(fs->OpenVolume, 2, fs, root);
}

/* The file's size and attributes from EFI_FILE_INFO. */
static EFI_STATUS file_info(EFI_FILE_HANDLE fh, UINT64 *size, UINT64 *attr)
{
	EFI_GUID info_guid = EFI_FILE_INFO_ID;
	UINT64 buf[128]; /* EFI_FILE_INFO + a file name of up to ~450 chars */
	UINTN len = sizeof(buf);
	EFI_STATUS st;

	st = uefi_call_wrapper(fh->GetInfo, 4, fh, &info_guid, &len, buf);
	if (EFI_ERROR(st))
		return st;
	*size = ((EFI_FILE_INFO *)buf)->FileSize;
	*attr = ((EFI_FILE_INFO *)buf)->Attribute;
	return EFI_SUCCESS;
}

EFI_STATUS file_open(EFI_FILE_HANDLE root, CHAR16 *path, EFI_FILE_HANDLE *fh, UINT64 *size)
{
	UINT64 attr;
	EFI_STATUS st;

	st = uefi_call_wrapper(root->Open, 5, root, fh, path, EFI_FILE_MODE_READ, 0ULL);
	if (EFI_ERROR(st))
		return st;
	st = file_info(*fh, size, &attr);
	if (!EFI_ERROR(st) && (attr & EFI_FILE_DIRECTORY))
		st = EFI_NOT_FOUND;
	if (EFI_ERROR(st))
		file_close(*fh);
	return st;
}

EFI_STATUS file_read(EFI_FILE_HANDLE fh, void *buf, UINT64 size)
{
	UINT8 *p = buf;
	EFI_STATUS st;

	while (size) {
		UINTN n = size < READ_CHUNK ? size : READ_CHUNK;
		st = uefi_call_wrapper(fh->Read, 3, fh, &n, p);
		if (EFI_ERROR(st))
			return st;
		if (n == 0)
			return EFI_END_OF_FILE; /* shorter than its FileSize */
		p += n;
		size -= n;
	}
	return EFI_SUCCESS;
}

void file_close(EFI_FILE_HANDLE fh)
{
	uefi_call_wrapper(fh->Close, 1, fh);
}

EFI_STATUS cmdline_check_size(UINT64 len)
{
	if (len <= CMDLINE_MAX)
		return EFI_SUCCESS;
	log_msg("loader: error: cmdline.txt is %lu bytes, more than the %u the kernel "
		"accepts\n",
		(unsigned long)len, (unsigned)CMDLINE_MAX);
	return EFI_BAD_BUFFER_SIZE;
}

void cmdline_log(const char *s, UINT64 len)
{
	enum { PART = 400 }; /* + the prefix: well under log_msg()'s 511 bytes */
	char part[PART + 1];
	UINT64 parts = (len + PART - 1) / PART;

	for (UINT64 i = 0; i < len || i == 0; i += PART) {
		UINT64 n = len - i < PART ? len - i : PART;
		for (UINT64 j = 0; j < n; j++)
			part[j] = s[i + j] ? s[i + j] : ' ';
		part[n] = 0;
		/* whole lines only: the firmware console may echo each call */
		if (parts <= 1)
			log_msg("loader: cmdline: \"%s\"\n", part);
		else
			log_msg("loader: cmdline (%lu bytes, part %lu of %lu): \"%s\"\n",
				(unsigned long)len, (unsigned long)(i / PART + 1),
				(unsigned long)parts, part);
	}
}
