/*
 * boot/elf_check.h - validate kernel.elf and copy its segments.
 *
 * Pure functions over a byte buffer: no firmware calls, so they are easy to
 * reason about (and to test on the host).
 */
#ifndef BOOT_ELF_CHECK_H
#define BOOT_ELF_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Largest kernel span (lowest vaddr .. end of the highest segment) accepted. */
#define KERNEL_MAX_SPAN (1ULL << 30)

/* What the loader needs to know about a kernel image that passed the checks. */
struct kernel_layout {
	uint64_t virt_lo; /* lowest PT_LOAD vaddr, page aligned down */
	uint64_t size;	  /* span to the end of the highest segment, page aligned up */
	uint64_t entry;	  /* e_entry, inside some PT_LOAD */
	unsigned nload;	  /* number of non-empty PT_LOAD segments */
};

/*
 * Check that file[0..size) is a kernel this loader can run: ELF64, little
 * endian, x86-64, ET_EXEC, sane program headers, PT_LOADs in the higher half
 * at/above BOOT_KERNEL_VIRT_BASE, inside the file, not overlapping, spanning
 * at most KERNEL_MAX_SPAN, with the entry point inside one of them.
 * Returns 0 and fills *out, or -1 with a one-line reason in err ("not an
 * x86-64 ELF (e_machine 40)"). PT_LOADs are numbered by their index in the
 * program header table, as in readelf's segment-to-section mapping.
 */
int elf_check(const void *file, uint64_t size, struct kernel_layout *out, char *err, size_t errlen);

/*
 * Copy every PT_LOAD's file bytes to block + (p_vaddr - layout->virt_lo).
 * The caller has zeroed the block, so the rest of each segment (bss) is 0.
 * Only call this on a file elf_check() accepted.
 */
void elf_load(const void *file, const struct kernel_layout *layout, void *block);

#endif
