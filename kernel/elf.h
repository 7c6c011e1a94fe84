/*
 * kernel/elf.h - ELF64 headers (the System V gABI and the x86-64 psABI
 * names) and elf_plan(): the pure check of an executable's headers that
 * execve (kernel/exec.c) trusts. Compiled for the host too (-DELF_HOST,
 * tests/host/elf_test.c).
 */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#ifdef ELF_HOST
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#else
#include "kernel/compiler.h"
#endif

#define EI_NIDENT    16
#define EI_CLASS     4
#define EI_DATA	     5
#define EI_VERSION   6
#define ELFCLASS64   2
#define ELFDATA2LSB  1
#define EV_CURRENT   1
#define ET_EXEC	     2
#define ET_DYN	     3
#define EM_X86_64    62
#define PT_LOAD	     1
#define PT_INTERP    3
#define PT_PHDR	     6
#define PT_GNU_STACK 0x6474e551
#define PF_X	     1
#define PF_W	     2
#define PF_R	     4

/* auxv types (Linux include/uapi/linux/auxvec.h) */
#define AT_NULL	    0
#define AT_PHDR	    3
#define AT_PHENT    4
#define AT_PHNUM    5
#define AT_PAGESZ   6
#define AT_BASE	    7
#define AT_FLAGS    8
#define AT_ENTRY    9
#define AT_UID	    11
#define AT_EUID	    12
#define AT_GID	    13
#define AT_EGID	    14
#define AT_PLATFORM 15
#define AT_HWCAP    16
#define AT_CLKTCK   17
#define AT_SECURE   23
#define AT_RANDOM   25
#define AT_HWCAP2   26
#define AT_EXECFN   31

typedef struct {
	unsigned char e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} Elf64_Ehdr;

typedef struct {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} Elf64_Phdr;

/* At most 64 KiB of program headers, as Linux (ELF_MIN_ALIGN): 1170. */
#define ELF_MAX_PHNUM (65536 / sizeof(Elf64_Phdr))
/* Where a static-PIE (ET_DYN) program goes: Linux's ELF_ET_DYN_BASE on
 * x86-64 without randomization (2/3 of TASK_SIZE, page aligned). */
#define ELF_ET_DYN_BASE 0x555555554000ull
/* The lowest address a segment may use (Linux's default vm.mmap_min_addr). */
#define ELF_MIN_ADDR 0x10000ull
#define ELF_PAGE     4096ull
/* The interpreter's path, PT_INTERP: 2 .. ELF_MAX_INTERP bytes with its NUL. */
#define ELF_MAX_INTERP 4096

/* What execve needs to know, all addresses already biased. */
struct elf_plan {
	uint16_t type;	 /* ET_EXEC or ET_DYN */
	uint64_t bias;	 /* added to every p_vaddr (0 for ET_EXEC) */
	uint64_t lo, hi; /* page-aligned span of the PT_LOAD segments */
	uint64_t entry;	 /* e_entry + bias */
	uint64_t phdr;	 /* AT_PHDR: where the program headers are mapped, or 0 */
	uint16_t phnum;
	int nr_load;	 /* PT_LOAD headers */
	int interp;	 /* index of PT_INTERP, or -1 */
	bool exec_stack; /* PT_GNU_STACK with PF_X */
	const char *why; /* on -ENOEXEC: the rule the file broke */
};

/* The ELF header of a file of file_size bytes is acceptable, and its
 * program headers start at e_phoff and are e_phnum * 56 bytes, within the
 * file. 0 or -ENOEXEC (plan->why says why). */
int elf_check_ehdr(const Elf64_Ehdr *eh, uint64_t file_size, struct elf_plan *plan);
/* The program headers (eh->e_phnum of them) describe an executable the
 * user half of [0, user_top) can hold: PT_LOAD segments in ascending
 * order without overlap, each within the file, p_offset and p_vaddr
 * congruent modulo the page size, p_filesz <= p_memsz, no sum wrapping,
 * no address below ELF_MIN_ADDR or at/above user_top; a PT_INTERP of sane
 * size inside the file. Fills plan. 0 or -ENOEXEC. */
int elf_plan(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, uint64_t file_size, uint64_t user_top,
	     struct elf_plan *plan);

#endif
