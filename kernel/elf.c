/*
 * kernel/elf.c - the checks execve makes on an ELF64 executable's headers
 * before it maps anything (Linux: load_elf_binary's and elf_read_phdrs'
 * checks, plus the ones Linux leaves to mmap to fail on). Everything here
 * is pure arithmetic on the headers, so that a hostile file can only ever
 * get -ENOEXEC: every sum is checked for wrapping before it is used, every
 * size is bounded before anything is allocated from it (at most 64 KiB of
 * program headers), and every address must lie in [ELF_MIN_ADDR, user_top).
 * Compiled into the kernel and, with -DELF_HOST, into tests/host/elf_test.c.
 */
#include "kernel/elf.h"

#define ENOEXEC_ 8

static int bad(struct elf_plan *plan, const char *why)
{
	plan->why = why;
	return -ENOEXEC_;
}

int elf_check_ehdr(const Elf64_Ehdr *eh, uint64_t file_size, struct elf_plan *plan)
{
	const unsigned char *id = eh->e_ident;
	if (file_size < sizeof(*eh))
		return bad(plan, "shorter than an ELF header");
	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return bad(plan, "no ELF magic");
	if (id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB ||
	    id[EI_VERSION] != EV_CURRENT)
		return bad(plan, "not ELF64 little-endian version 1");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return bad(plan, "neither ET_EXEC nor ET_DYN");
	if (eh->e_machine != EM_X86_64)
		return bad(plan, "not x86-64");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return bad(plan, "e_phentsize is not 56");
	if (eh->e_phnum < 1 || eh->e_phnum > ELF_MAX_PHNUM)
		return bad(plan, "e_phnum is 0 or more than 64 KiB of headers");
	uint64_t size = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
#ifndef MUTATION_ELF_PHDRS_UNBOUNDED
	if (eh->e_phoff > file_size || size > file_size - eh->e_phoff)
		return bad(plan, "program headers past the end of the file");
#endif
	plan->type = eh->e_type;
	plan->phnum = eh->e_phnum;
	return 0;
}

static int check_load(const Elf64_Phdr *p, uint64_t file_size, struct elf_plan *plan)
{
	if (p->p_filesz > p->p_memsz)
		return bad(plan, "PT_LOAD with p_filesz > p_memsz");
#ifndef MUTATION_ELF_SEGMENT_PAST_FILE
	if (p->p_offset > file_size || p->p_filesz > file_size - p->p_offset)
		return bad(plan, "PT_LOAD past the end of the file");
#endif
#ifndef MUTATION_ELF_NO_CONGRUENCE
	if ((p->p_offset ^ p->p_vaddr) & (ELF_PAGE - 1))
		return bad(plan, "PT_LOAD p_offset and p_vaddr differ modulo the page size");
#endif
	if (p->p_vaddr > UINT64_MAX - ELF_PAGE || p->p_memsz > UINT64_MAX - ELF_PAGE - p->p_vaddr)
		return bad(plan, "PT_LOAD p_vaddr + p_memsz wraps");
	return 0;
}

int elf_plan(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, uint64_t file_size, uint64_t user_top,
	     struct elf_plan *plan)
{
	plan->nr_load = 0;
	plan->interp = -1;
	plan->exec_stack = false;
	plan->phdr = 0;
	uint64_t lo = 0, hi = 0, prev_end = 0, phdr_vaddr = 0;
	bool phdr_found = false;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		switch (p->p_type) {
		case PT_LOAD: {
			int err = check_load(p, file_size, plan);
			if (err)
				return err;
			if (!p->p_memsz)
				continue; /* maps nothing (Linux skips it too) */
			uint64_t end = p->p_vaddr + p->p_memsz;
			if (plan->nr_load == 0)
				lo = p->p_vaddr & ~(ELF_PAGE - 1);
			else if (p->p_vaddr < prev_end) {
#ifndef MUTATION_ELF_OVERLAP_ALLOWED
				return bad(plan, "PT_LOAD segments overlap or go down");
#endif
			}
			prev_end = end;
			hi = (end + ELF_PAGE - 1) & ~(ELF_PAGE - 1);
			if (!phdr_found && p->p_offset <= eh->e_phoff &&
			    eh->e_phoff - p->p_offset < p->p_filesz) {
				/* Linux 6.1: AT_PHDR from the segment holding e_phoff. */
				phdr_found = true;
				phdr_vaddr = eh->e_phoff - p->p_offset + p->p_vaddr;
			}
			plan->nr_load++;
			break;
		}
		case PT_INTERP:
			if (plan->interp >= 0)
				break; /* Linux uses the first */
			if (p->p_filesz < 2 || p->p_filesz > ELF_MAX_INTERP ||
			    p->p_offset > file_size || p->p_filesz > file_size - p->p_offset)
				return bad(plan,
					   "PT_INTERP of a bad size or past the end of the file");
			plan->interp = i;
			break;
		case PT_GNU_STACK:
			plan->exec_stack = p->p_flags & PF_X;
			break;
		default:
			break;
		}
	}
	if (!plan->nr_load)
		return bad(plan, "no PT_LOAD segment");
	/* lo <= hi: ascending, and the wrap check above keeps hi from wrapping. */
	if (eh->e_type == ET_DYN) {
		if (hi - lo > user_top - ELF_ET_DYN_BASE)
			return bad(plan,
				   "ET_DYN segments span more than the user half above the base");
		plan->bias = ELF_ET_DYN_BASE - lo; /* modulo 2^64: bias + lo = the base */
	} else {
		plan->bias = 0;
#ifndef MUTATION_ELF_KERNEL_ADDR
		if (lo < ELF_MIN_ADDR || hi > user_top)
			return bad(plan, "PT_LOAD outside the user half");
#endif
	}
	plan->lo = lo + plan->bias;
	plan->hi = hi + plan->bias;
	plan->entry = eh->e_entry + plan->bias;
	if (plan->entry >= user_top)
		return bad(plan, "entry point outside the user half");
	plan->phdr = phdr_found ? phdr_vaddr + plan->bias : 0;
	plan->why = NULL;
	return 0;
}
