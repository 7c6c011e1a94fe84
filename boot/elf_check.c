/*
 * boot/elf_check.c - kernel.elf validation and segment copy.
 *
 * The loader must never jump into garbage, so every field it later trusts is
 * checked here, with overflow-safe arithmetic: a truncated, corrupt or
 * wrongly linked file is rejected with a reason, never half-loaded.
 * Headers are copied out of the buffer before use, so a file whose program
 * header table is misaligned is still read correctly.
 */
#include <elf.h>

#include "boot/boot_info.h"
#include "boot/console.h"
#include "boot/elf_check.h"

#define PAGE_SIZE 4096ULL

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	vfmt_buf(err, errlen, fmt, ap);
	__builtin_va_end(ap);
	return -1;
}

/* Program header i, copied out (the caller checked it lies in the file). */
static Elf64_Phdr phdr_at(const uint8_t *file, const Elf64_Ehdr *eh, unsigned i)
{
	Elf64_Phdr ph;

	__builtin_memcpy(&ph, file + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(ph));
	return ph;
}

/* Identification and header fields: is this an x86-64 executable at all? */
static int check_ehdr(const uint8_t *file, uint64_t size, Elf64_Ehdr *eh, char *err, size_t errlen)
{
	if (size < sizeof(*eh))
		return fail(err, errlen, "too small for an ELF header (%lu bytes)",
			    (unsigned long)size);
	__builtin_memcpy(eh, file, sizeof(*eh));
	if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
	    eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3)
		return fail(err, errlen, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "not an x86-64 ELF (not ELF64)");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "not an x86-64 ELF (not little endian)");
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, "not an x86-64 ELF (e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen,
			    "not an executable (e_type %u, want ET_EXEC; link with -no-pie)",
			    eh->e_type);
	if (eh->e_phnum == 0)
		return fail(err, errlen, "no program headers");
	if (eh->e_phentsize < sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad e_phentsize %u", eh->e_phentsize);
	uint64_t table = (uint64_t)eh->e_phnum * eh->e_phentsize;
	if (eh->e_phoff > size || table > size - eh->e_phoff)
		return fail(err, errlen, "program headers outside the file");
	return 0;
}

/* One PT_LOAD on its own: sizes, file range, and virtual range. */
static int check_load(const Elf64_Phdr *ph, unsigned i, uint64_t size, char *err, size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, errlen, "PT_LOAD %u has p_filesz > p_memsz", i);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return fail(err, errlen, "PT_LOAD %u extends past the end of the file", i);
	if (ph->p_vaddr < BOOT_KERNEL_VIRT_BASE)
		return fail(err, errlen, "PT_LOAD %u at 0x%lx is below the kernel base 0x%llx", i,
			    (unsigned long)ph->p_vaddr, BOOT_KERNEL_VIRT_BASE);
	/* Keep the end (and its page round-up) below 2^64. */
	if (ph->p_memsz > 0 - PAGE_SIZE - ph->p_vaddr)
		return fail(err, errlen, "PT_LOAD %u wraps past the top of memory", i);
	return 0;
}

/* Does PT_LOAD i overlap any earlier non-empty PT_LOAD? */
static int check_overlap(const uint8_t *file, const Elf64_Ehdr *eh, const Elf64_Phdr *ph,
			 unsigned i, char *err, size_t errlen)
{
	for (unsigned j = 0; j < i; j++) {
		Elf64_Phdr q = phdr_at(file, eh, j);
		if (q.p_type != PT_LOAD || q.p_memsz == 0)
			continue;
		if (ph->p_vaddr < q.p_vaddr + q.p_memsz && q.p_vaddr < ph->p_vaddr + ph->p_memsz)
			return fail(err, errlen, "PT_LOAD %u overlaps PT_LOAD %u", i, j);
	}
	return 0;
}

int elf_check(const void *filep, uint64_t size, struct kernel_layout *out, char *err, size_t errlen)
{
	const uint8_t *file = filep;
	Elf64_Ehdr eh;
	uint64_t lo = ~0ULL, hi = 0;
	unsigned nload = 0;
	int entry_ok = 0;

	if (check_ehdr(file, size, &eh, err, errlen))
		return -1;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr_at(file, &eh, i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue; /* an empty PT_LOAD loads nothing */
		if (check_load(&ph, i, size, err, errlen) ||
		    check_overlap(file, &eh, &ph, i, err, errlen))
			return -1;
		nload++;
		if (ph.p_vaddr < lo)
			lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = ph.p_vaddr + ph.p_memsz;
		if (eh.e_entry >= ph.p_vaddr && eh.e_entry < ph.p_vaddr + ph.p_memsz)
			entry_ok = 1;
	}
	if (nload == 0)
		return fail(err, errlen, "no PT_LOAD segment");
	lo &= ~(PAGE_SIZE - 1);
	hi = (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (hi - lo > KERNEL_MAX_SPAN)
		return fail(err, errlen, "segments span %lu MiB, more than %llu MiB",
			    (unsigned long)((hi - lo) >> 20), KERNEL_MAX_SPAN >> 20);
	if (!entry_ok)
		return fail(err, errlen, "entry point 0x%lx is not inside a PT_LOAD",
			    (unsigned long)eh.e_entry);
	out->virt_lo = lo;
	out->size = hi - lo;
	out->entry = eh.e_entry;
	out->nload = nload;
	return 0;
}

void elf_load(const void *filep, const struct kernel_layout *layout, void *blockp)
{
	const uint8_t *file = filep;
	uint8_t *block = blockp;
	Elf64_Ehdr eh;

	__builtin_memcpy(&eh, file, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr_at(file, &eh, i);
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		uint8_t *dst = block + (ph.p_vaddr - layout->virt_lo);
		const uint8_t *src = file + ph.p_offset;
		for (uint64_t k = 0; k < ph.p_filesz; k++)
			dst[k] = src[k];
	}
}
