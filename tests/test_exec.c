/*
 * tests/test_exec.c - execve's loading half (kernel/exec.c, kernel/elf.c,
 * vm_brk in mm/mm.c), without running anything: each program of the
 * initrd's /bin (tests/user/, built with musl and glibc) is loaded into a
 * new mm and the result is read back through GUP and compared with the
 * file: every PT_LOAD at its address with its protections and bytes, the
 * bss zero (also where the file has other bytes past p_filesz, which must
 * stay in the page cache), the initial stack decoded (argc, argv, envp,
 * every auxv entry, AT_RANDOM, AT_EXECFN, 16-byte alignment), the stack
 * VMA and its exec bit from PT_GNU_STACK, and the break. Hostile images
 * made from /bin/hello with one header field broken are each refused with
 * -ENOEXEC and leave no page or heap byte behind; a dynamically linked
 * program gets -ENOENT (no interpreter); argument limits give -E2BIG as
 * Linux; argv/envp given as user pointers are read from the caller's mm,
 * and bad pointers there get -EFAULT.
 */
#include "tests/ktest_mm.h"
#include "kernel/exec.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/fs/fs.h"
#include "kernel/string.h"
#include "mm/gup.h"
#include "mm/kmalloc.h"

/* ---- helpers ------------------------------------------------------------- */

static int mm_read(struct mm *mm, uint64_t addr, void *buf, uint64_t n)
{
	uint8_t *b = buf;
	while (n) {
		struct page *pg;
		if (get_user_pages(mm, addr & PAGE_MASK, 1, 0, &pg) != 1)
			return -EFAULT;
		uint64_t off = addr & (PAGE_SIZE - 1), k = MIN(n, PAGE_SIZE - off);
		memcpy(b, (uint8_t *)page_address(pg) + off, k);
		put_page(pg);
		b += k;
		addr += k;
		n -= k;
	}
	return 0;
}

static uint64_t mm_u64(struct mm *mm, uint64_t addr)
{
	uint64_t v = 0xdeadbeefdeadbeefull;
	mm_read(mm, addr, &v, 8);
	return v;
}

/* Reads a NUL-terminated string of at most n - 1 bytes; false if longer. */
static bool mm_str(struct mm *mm, uint64_t addr, char *buf, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (mm_read(mm, addr + i, &buf[i], 1))
			return false;
		if (!buf[i])
			return true;
	}
	return false;
}

static unsigned long vma_prot_at(struct mm *mm, uint64_t addr, uint64_t *start, uint64_t *end)
{
	down_read(&mm->mmap_lock);
	struct vm_area_struct *v = find_vma(mm, addr);
	unsigned long flags = ~0ul;
	if (v && v->vm_start <= addr) {
		flags = v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
		if (start)
			*start = v->vm_start;
		if (end)
			*end = v->vm_end;
	}
	up_read(&mm->mmap_lock);
	return flags;
}

/* A whole file into a kmalloc buffer. */
static uint8_t *read_file(struct ktest *t, const char *path, uint64_t *size)
{
	struct file *f;
	int err = vfs_open(path, O_RDONLY, &f);
	if (err) {
		ktest_fail(t, __FILE__, __LINE__, "open %s: %d", path, err);
		return NULL;
	}
	*size = vfs_size(f);
	uint8_t *buf = kmalloc(*size);
	if (buf && vfs_pread(f, buf, *size, 0) != (ssize_t)*size) {
		kfree(buf);
		buf = NULL;
	}
	vfs_close(f);
	if (!buf)
		ktest_fail(t, __FILE__, __LINE__, "read %s", path);
	return buf;
}

static int write_file(const char *path, const void *buf, uint64_t size)
{
	struct file *f;
	int err = vfs_open(path, O_RDWR | O_CREAT | O_TRUNC, &f);
	if (err)
		return err;
	ssize_t n = vfs_pwrite(f, buf, size, 0);
	vfs_close(f);
	return n == (ssize_t)size ? 0 : -EIO;
}

static uint64_t heap_and_pages(uint64_t *pages)
{
	*pages = ktest_free_pages();
	return kmalloc_bytes_in_use();
}

/* ---- checking a loaded program against its file -------------------------- */

static unsigned long pf_vm(uint32_t pf)
{
	return (pf & PF_R ? VM_READ : 0) | (pf & PF_W ? VM_WRITE : 0) | (pf & PF_X ? VM_EXEC : 0);
}

/* Segments: protections, bytes equal to the file's, bss zero to the end
 * of the last page; returns the expected break. */
static uint64_t check_segments(struct ktest *t, struct mm *mm, const uint8_t *img, uint64_t size,
			       uint64_t bias)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff);
	uint64_t brk = 0;
	uint8_t *page = kmalloc(PAGE_SIZE);
	if (!page)
		return 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		uint64_t v = p->p_vaddr + bias, end = ALIGN_UP(v + p->p_memsz, PAGE_SIZE);
		brk = MAX(brk, end);
		for (uint64_t a = v & PAGE_MASK; a < end; a += PAGE_SIZE)
			KEXPECT_EQ(t, vma_prot_at(mm, a, NULL, NULL), pf_vm(p->p_flags));
		if (!(p->p_flags & PF_R))
			continue; /* GUP reads need VM_READ */
		/* Every byte from the segment's first page to the end of its last. */
		for (uint64_t a = v & PAGE_MASK; a < end; a += PAGE_SIZE) {
			if (mm_read(mm, a, page, PAGE_SIZE)) {
				ktest_fail(t, __FILE__, __LINE__, "segment %d: %#lx unreadable", i,
					   a);
				break;
			}
			int bad = 0;
			for (uint64_t k = 0; k < PAGE_SIZE && bad < 3; k++) {
				uint64_t va = a + k;
				/* The segment's bytes, and with a bss the rest of the
				 * page holding its last file byte (Linux's padzero);
				 * other bytes of its pages are the file's or another
				 * segment's. */
				uint64_t zero_end =
				    p->p_memsz > p->p_filesz
					? MAX(v + p->p_memsz, ALIGN_UP(v + p->p_filesz, PAGE_SIZE))
					: v + p->p_memsz;
				if (va < v || va >= zero_end)
					continue;
				uint8_t want =
				    va < v + p->p_filesz ? img[p->p_offset + (va - v)] : 0;
				if (page[k] != want) {
					ktest_fail(t, __FILE__, __LINE__,
						   "segment %d: byte at %#lx is %#x, want %#x (%s)",
						   i, va, page[k], want,
						   va < v + p->p_filesz ? "file" : "bss");
					bad++;
				}
			}
			if (bad)
				break;
		}
		(void)size;
	}
	kfree(page);
	return brk;
}

struct want_stack {
	int argc;
	const char *const *argv;
	int envc;
	const char *const *envp;
	const char *execfn;
};

/* The stack as Linux's create_elf_tables lays it out. */
static void check_stack(struct ktest *t, struct mm *mm, const struct exec_result *r,
			const uint8_t *img, const struct want_stack *w)
{
	const Elf64_Ehdr *eh = (const void *)img;
	char s[256];
	KEXPECT_EQ(t, r->sp & 15, 0);
	KEXPECT_GE(t, r->sp, EXEC_STACK_TOP - EXEC_STACK_SIZE);
	KEXPECT_LT(t, r->sp, EXEC_STACK_TOP);
	KEXPECT_EQ(t, mm->start_stack, r->sp);
	uint64_t sp = r->sp;
	KEXPECT_EQ(t, mm_u64(mm, sp), w->argc);
	KEXPECT_EQ(t, r->argc, w->argc);
	KEXPECT_EQ(t, r->envc, w->envc);
	uint64_t q = sp + 8;
	uint64_t lowest = ~0ull;
	for (int i = 0; i < w->argc; i++, q += 8) {
		uint64_t a = mm_u64(mm, q);
		lowest = MIN(lowest, a);
		KEXPECT_TRUE(t, mm_str(mm, a, s, sizeof(s)) && !strcmp(s, w->argv[i]));
		if (i == 0)
			KEXPECT_EQ(t, a, mm->arg_start);
	}
	KEXPECT_EQ(t, mm_u64(mm, q), 0);
	q += 8;
	for (int i = 0; i < w->envc; i++, q += 8) {
		uint64_t a = mm_u64(mm, q);
		KEXPECT_TRUE(t, mm_str(mm, a, s, sizeof(s)) && !strcmp(s, w->envp[i]));
		if (i == 0)
			KEXPECT_EQ(t, a, mm->env_start);
	}
	KEXPECT_EQ(t, mm_u64(mm, q), 0);
	q += 8;
	/* auxv */
	uint64_t av[64] = { 0 };
	bool seen[64] = { false };
	int n = 0;
	for (; n < 40; n++, q += 16) {
		uint64_t type = mm_u64(mm, q), val = mm_u64(mm, q + 8);
		if (type == AT_NULL)
			break;
		KASSERT_TRUE(t, type < 64 && !seen[type]);
		seen[type] = true;
		av[type] = val;
	}
	KEXPECT_LT(t, n, 40);
	/* The tables end below the random bytes and the strings. */
	KEXPECT_LE(t, q + 16, av[AT_RANDOM]);
	static const int required[] = { AT_PHDR,   AT_PHENT,   AT_PHNUM,  AT_PAGESZ, AT_BASE,
					AT_FLAGS,  AT_ENTRY,   AT_UID,	  AT_EUID,   AT_GID,
					AT_EGID,   AT_SECURE,  AT_CLKTCK, AT_HWCAP,  AT_RANDOM,
					AT_EXECFN, AT_PLATFORM };
	for (unsigned i = 0; i < ARRAY_SIZE(required); i++)
		if (!seen[required[i]])
			ktest_fail(t, __FILE__, __LINE__, "auxv entry %d missing", required[i]);
	KEXPECT_EQ(t, av[AT_PHENT], sizeof(Elf64_Phdr));
	KEXPECT_EQ(t, av[AT_PHNUM], eh->e_phnum);
	KEXPECT_EQ(t, av[AT_PAGESZ], 4096);
	KEXPECT_EQ(t, av[AT_BASE], 0);
	KEXPECT_EQ(t, av[AT_FLAGS], 0);
	KEXPECT_EQ(t, av[AT_ENTRY], eh->e_entry + r->bias);
	KEXPECT_EQ(t, av[AT_ENTRY], r->entry);
	KEXPECT_EQ(t, av[AT_UID] | av[AT_EUID] | av[AT_GID] | av[AT_EGID] | av[AT_SECURE], 0);
	KEXPECT_EQ(t, av[AT_CLKTCK], 100);
	KEXPECT_EQ(t, av[AT_HWCAP], arch_elf_hwcap());
	KEXPECT_NE(t, av[AT_HWCAP], 0);
	/* AT_PHDR: the program headers, mapped (the file's bytes). */
	KEXPECT_EQ(t, av[AT_PHDR], r->phdr);
	KEXPECT_NE(t, av[AT_PHDR], 0);
	uint64_t phsize = eh->e_phnum * sizeof(Elf64_Phdr);
	uint8_t *ph = kmalloc(phsize);
	if (ph) {
		KEXPECT_EQ(t, mm_read(mm, av[AT_PHDR], ph, phsize), 0);
		KEXPECT_EQ(t, memcmp(ph, img + eh->e_phoff, phsize), 0);
		kfree(ph);
	}
	/* AT_RANDOM: 16 bytes on the stack, not all zero. */
	KEXPECT_EQ(t, av[AT_RANDOM], r->random);
	KEXPECT_GT(t, av[AT_RANDOM], sp);
	KEXPECT_LE(t, av[AT_RANDOM] + 16, EXEC_STACK_TOP);
	uint8_t rnd[16] = { 0 }, any = 0;
	KEXPECT_EQ(t, mm_read(mm, av[AT_RANDOM], rnd, 16), 0);
	for (int i = 0; i < 16; i++)
		any |= rnd[i];
	KEXPECT_NE(t, any, 0);
	/* AT_EXECFN: the path, the highest string, right under 8 zero bytes. */
	KEXPECT_TRUE(t, mm_str(mm, av[AT_EXECFN], s, sizeof(s)) && !strcmp(s, w->execfn));
	KEXPECT_EQ(t, av[AT_EXECFN] + strlen(w->execfn) + 1, EXEC_STACK_TOP - 8);
	KEXPECT_EQ(t, mm_u64(mm, EXEC_STACK_TOP - 8), 0);
	KEXPECT_TRUE(t, mm_str(mm, av[AT_PLATFORM], s, sizeof(s)) && !strcmp(s, "x86_64"));
	/* argv[0] is the lowest string; the strings are contiguous up to execfn. */
	if (w->argc)
		KEXPECT_EQ(t, lowest, mm->arg_start);
	KEXPECT_EQ(t, mm->env_end, av[AT_EXECFN]);
}

/* Load path with argv/envp and check everything against the file. */
static void check_program(struct ktest *t, const char *path, bool pie)
{
	uint64_t size;
	uint8_t *img = read_file(t, path, &size);
	if (!img)
		return;
	const char *const argv[] = { path, "first arg", "", "x=y", NULL };
	const char *const envp[] = { "HOME=/", "PATH=/bin", "EMPTY=", NULL };
	struct exec_result r;
	int err = kernel_execve_prepare(path, (char *const *)argv, (char *const *)envp, &r);
	KEXPECT_EQ(t, err, 0);
	if (err) {
		kfree(img);
		return;
	}
	struct mm *mm = r.mm;
	const Elf64_Ehdr *eh = (const void *)img;
	KEXPECT_EQ(t, eh->e_type, pie ? ET_DYN : ET_EXEC);
	KEXPECT_EQ(t, r.bias, pie ? ELF_ET_DYN_BASE : 0);
	uint64_t brk = check_segments(t, mm, img, size, r.bias);
	KEXPECT_EQ(t, r.brk, brk);
	KEXPECT_EQ(t, mm->start_brk, brk);
	KEXPECT_EQ(t, mm->brk, brk);
	/* The entry point is in an executable segment. */
	KEXPECT_EQ(t, vma_prot_at(mm, r.entry, NULL, NULL) & VM_EXEC, VM_EXEC);
	/* The stack VMA: 8 MiB, read-write, not executable (PT_GNU_STACK RW). */
	uint64_t s = 0, e = 0;
	KEXPECT_EQ(t, vma_prot_at(mm, EXEC_STACK_TOP - 1, &s, &e), VM_READ | VM_WRITE);
	KEXPECT_EQ(t, s, EXEC_STACK_TOP - EXEC_STACK_SIZE);
	KEXPECT_EQ(t, e, EXEC_STACK_TOP);
	KEXPECT_FALSE(t, r.exec_stack);
	struct want_stack w = { 4, argv, 3, envp, path };
	check_stack(t, mm, &r, img, &w);
	exec_result_release(&r);
	kfree(img);
}

static void musl_static(struct ktest *t)
{
	check_program(t, "/bin/hello", false);
	check_program(t, "/bin/args", false);
}

static void glibc_static(struct ktest *t)
{
	check_program(t, "/bin/hello-glibc", false);
	check_program(t, "/bin/args-glibc", false);
}

static void glibc_static_pie(struct ktest *t)
{
	check_program(t, "/bin/hello-glibc-pie", true);
}

/* Loading and dropping a program leaves nothing behind (the page cache
 * keeps the file's pages: load once first to fill it). */
static void no_leak(struct ktest *t)
{
	const char *const argv[] = { "/bin/args-glibc", NULL };
	struct exec_result r;
	KASSERT_EQ(t, kernel_execve_prepare(argv[0], (char *const *)argv, NULL, &r), 0);
	exec_result_release(&r);
	uint64_t pages, heap = heap_and_pages(&pages);
	for (int i = 0; i < 3; i++) {
		KASSERT_EQ(t, kernel_execve_prepare(argv[0], (char *const *)argv, NULL, &r), 0);
		/* touch the whole stack top and a bss page */
		KEXPECT_EQ(t, mm_u64(r.mm, r.brk - 8), 0);
		exec_result_release(&r);
	}
	uint64_t pages2, heap2 = heap_and_pages(&pages2);
	KEXPECT_EQ(t, pages2, pages);
	KEXPECT_EQ(t, heap2, heap);
}

/* An empty argv gets "" as argv[0], as Linux 5.18+; envp NULL is empty. */
static void empty_argv(struct ktest *t)
{
	uint64_t size;
	uint8_t *img = read_file(t, "/bin/hello", &size);
	if (!img)
		return;
	struct exec_result r;
	KASSERT_EQ(t, kernel_execve_prepare("/bin/hello", NULL, NULL, &r), 0);
	static const char *const argv[] = { "" };
	struct want_stack w = { 1, argv, 0, NULL, "/bin/hello" };
	check_stack(t, r.mm, &r, img, &w);
	exec_result_release(&r);
	kfree(img);
}

/* ---- refusals ------------------------------------------------------------- */

static void not_found_or_not_file(struct ktest *t)
{
	struct exec_result r;
	/* once to fill the page and inode caches, then again counting */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t pages, heap = heap_and_pages(&pages);
		KEXPECT_EQ(t, kernel_execve_prepare("/bin/nonexistent", NULL, NULL, &r), -ENOENT);
		KEXPECT_EQ(t, kernel_execve_prepare("/docs", NULL, NULL, &r), -EACCES);
		KEXPECT_EQ(t, kernel_execve_prepare("/hello.txt", NULL, NULL, &r), -ENOEXEC);
		KEXPECT_EQ(t, kernel_execve_prepare("/pattern.bin", NULL, NULL, &r), -ENOEXEC);
		uint64_t pages2, heap2 = heap_and_pages(&pages2);
		if (pass) {
			KEXPECT_EQ(t, pages2, pages);
			KEXPECT_EQ(t, heap2, heap);
		}
	}
	KEXPECT_TRUE(t, r.mm == NULL);
}

/* A dynamically linked program: its interpreter is absent, -ENOENT (and a
 * kernel log line); nothing leaks. */
static void dynamic_refused(struct ktest *t)
{
	struct exec_result r;
	const char *const argv[] = { "/bin/hello-dynamic", NULL };
	/* once to fill the page cache */
	KEXPECT_EQ(t, kernel_execve_prepare(argv[0], (char *const *)argv, NULL, &r), -ENOENT);
	uint64_t pages, heap = heap_and_pages(&pages);
	KEXPECT_EQ(t, kernel_execve_prepare(argv[0], (char *const *)argv, NULL, &r), -ENOENT);
	uint64_t pages2, heap2 = heap_and_pages(&pages2);
	KEXPECT_EQ(t, pages2, pages);
	KEXPECT_EQ(t, heap2, heap);
}

#define BAD_PATH "/exec-bad"

enum { SEG_FIRST_LOAD = -1, SEG_LAST_LOAD = -2 };

struct hostile {
	const char *what;
	int expect;
	void (*mutate)(uint8_t *img, uint64_t *size, Elf64_Ehdr *eh, Elf64_Phdr *ph);
};

static Elf64_Phdr *nth_load(Elf64_Ehdr *eh, Elf64_Phdr *ph, int which)
{
	Elf64_Phdr *last = NULL;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			if (which == SEG_FIRST_LOAD)
				return &ph[i];
			last = &ph[i];
		}
	return last;
}

static Elf64_Phdr *find_type(Elf64_Ehdr *eh, Elf64_Phdr *ph, uint32_t type)
{
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == type)
			return &ph[i];
	return NULL;
}

#define MUT(name) static void name(uint8_t *img, uint64_t *size, Elf64_Ehdr *eh, Elf64_Phdr *ph)
MUT(m_truncated)
{
	*size = 40;
}
MUT(m_magic)
{
	img[1] = 'X';
}
MUT(m_class32)
{
	img[EI_CLASS] = 1;
}
MUT(m_bigendian)
{
	img[EI_DATA] = 2;
}
MUT(m_machine)
{
	eh->e_machine = 3;
}
MUT(m_rel)
{
	eh->e_type = 1;
}
MUT(m_phentsize)
{
	eh->e_phentsize = 32;
}
MUT(m_phnum0)
{
	eh->e_phnum = 0;
}
MUT(m_phnum_huge)
{
	eh->e_phnum = 0xffff;
}
MUT(m_phoff_past)
{
	eh->e_phoff = *size - 8;
}
MUT(m_phoff_wrap)
{
	eh->e_phoff = ~0ull - 16;
}
MUT(m_seg_past_file)
{
	nth_load(eh, ph, SEG_LAST_LOAD)->p_filesz += *size;
	nth_load(eh, ph, SEG_LAST_LOAD)->p_memsz += *size;
}
MUT(m_seg_offset_wrap)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_offset = (~0ull & PAGE_MASK) | (p->p_vaddr & 0xfff);
}
MUT(m_filesz_gt_memsz)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_memsz = p->p_filesz - 1;
}
MUT(m_vaddr_wrap)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_vaddr = 0xfffffffffffff000ull | (p->p_offset & 0xfff);
	p->p_memsz = 0x3000;
}
MUT(m_memsz_wrap)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_memsz = ~0ull - p->p_vaddr + 2;
}
MUT(m_kernel_addr)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_vaddr = 0xffffffff80000000ull | (p->p_offset & 0xfff);
}
MUT(m_past_user)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_vaddr = 0x00007ffffffff000ull | (p->p_offset & 0xfff);
	p->p_memsz = 0x2000;
}
MUT(m_vaddr_zero)
{
	Elf64_Phdr *p = nth_load(eh, ph, SEG_FIRST_LOAD);
	p->p_vaddr = p->p_offset & 0xfff;
}
MUT(m_misaligned)
{
	nth_load(eh, ph, SEG_LAST_LOAD)->p_offset += 1;
}
MUT(m_overlap)
{
	Elf64_Phdr *a = nth_load(eh, ph, SEG_FIRST_LOAD), *b = nth_load(eh, ph, SEG_LAST_LOAD);
	b->p_vaddr = a->p_vaddr + (b->p_offset & 0xfff);
}
MUT(m_no_load)
{
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			ph[i].p_type = 0;
}
MUT(m_entry_kernel)
{
	eh->e_entry = 0xffff800000000000ull;
}
MUT(m_dyn_span)
{
	eh->e_type = ET_DYN;
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	p->p_vaddr = 0x7f0000000000ull | (p->p_offset & 0xfff);
}
MUT(m_interp_empty)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	p->p_type = PT_INTERP;
	p->p_offset = 0;
	p->p_filesz = 0;
}
MUT(m_interp_huge)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	p->p_type = PT_INTERP;
	p->p_offset = 0;
	p->p_filesz = 1 << 20;
}
MUT(m_interp_past)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	p->p_type = PT_INTERP;
	p->p_offset = *size - 4;
	p->p_filesz = 16;
}
MUT(m_interp_no_nul)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	p->p_type = PT_INTERP;
	p->p_offset = 0;
	p->p_filesz = 4;
}
MUT(m_interp_absent)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	static const char path[] = "/lib/ld-none.so";
	memcpy(img + *size, path, sizeof(path));
	p->p_type = PT_INTERP;
	p->p_offset = *size;
	p->p_filesz = sizeof(path);
	*size += sizeof(path);
}
MUT(m_interp_present)
{
	Elf64_Phdr *p = find_type(eh, ph, PT_GNU_STACK);
	static const char path[] = "/bin/hello";
	memcpy(img + *size, path, sizeof(path));
	p->p_type = PT_INTERP;
	p->p_offset = *size;
	p->p_filesz = sizeof(path);
	*size += sizeof(path);
}

static const struct hostile hostiles[] = {
	{ "truncated header", -ENOEXEC, m_truncated },
	{ "bad magic", -ENOEXEC, m_magic },
	{ "ELFCLASS32", -ENOEXEC, m_class32 },
	{ "big-endian", -ENOEXEC, m_bigendian },
	{ "e_machine i386", -ENOEXEC, m_machine },
	{ "ET_REL", -ENOEXEC, m_rel },
	{ "e_phentsize 32", -ENOEXEC, m_phentsize },
	{ "e_phnum 0", -ENOEXEC, m_phnum0 },
	{ "e_phnum 65535", -ENOEXEC, m_phnum_huge },
	{ "e_phoff past the end", -ENOEXEC, m_phoff_past },
	{ "e_phoff wrapping", -ENOEXEC, m_phoff_wrap },
	{ "segment past the file", -ENOEXEC, m_seg_past_file },
	{ "p_offset wrapping", -ENOEXEC, m_seg_offset_wrap },
	{ "p_filesz > p_memsz", -ENOEXEC, m_filesz_gt_memsz },
	{ "p_vaddr near 2^64", -ENOEXEC, m_vaddr_wrap },
	{ "p_vaddr + p_memsz wrapping", -ENOEXEC, m_memsz_wrap },
	{ "kernel address", -ENOEXEC, m_kernel_addr },
	{ "past the user half", -ENOEXEC, m_past_user },
	{ "p_vaddr 0 (below mmap_min_addr)", -ENOEXEC, m_vaddr_zero },
	{ "p_offset and p_vaddr incongruent", -ENOEXEC, m_misaligned },
	{ "overlapping segments", -ENOEXEC, m_overlap },
	{ "no PT_LOAD", -ENOEXEC, m_no_load },
	{ "entry in the kernel", -ENOEXEC, m_entry_kernel },
	{ "ET_DYN spanning the user half", -ENOEXEC, m_dyn_span },
	{ "PT_INTERP empty", -ENOEXEC, m_interp_empty },
	{ "PT_INTERP 1 MiB", -ENOEXEC, m_interp_huge },
	{ "PT_INTERP past the end", -ENOEXEC, m_interp_past },
	{ "PT_INTERP without NUL", -ENOEXEC, m_interp_no_nul },
	{ "PT_INTERP absent", -ENOENT, m_interp_absent },
	{ "PT_INTERP present", -ENOEXEC, m_interp_present },
};

/* Each image is /bin/hello with one thing broken; each is refused with
 * its error and leaves no page and no heap byte behind. */
static void hostile_images(struct ktest *t)
{
	uint64_t size0;
	uint8_t *orig = read_file(t, "/bin/hello", &size0);
	if (!orig)
		return;
	uint8_t *img = kmalloc(size0 + 64);
	KASSERT_NOT_NULL(t, img);
	for (unsigned i = 0; i < ARRAY_SIZE(hostiles); i++) {
		const struct hostile *h = &hostiles[i];
		memcpy(img, orig, size0);
		uint64_t size = size0;
		Elf64_Ehdr *eh = (void *)img;
		h->mutate(img, &size, eh, (Elf64_Phdr *)(img + eh->e_phoff));
		if (write_file(BAD_PATH, img, size)) {
			ktest_fail(t, __FILE__, __LINE__, "cannot write %s", BAD_PATH);
			break;
		}
		const char *const argv[] = { BAD_PATH, "arg", NULL };
		struct exec_result r;
		uint64_t pages, heap = heap_and_pages(&pages);
		int err = kernel_execve_prepare(BAD_PATH, (char *const *)argv, NULL, &r);
		uint64_t pages2, heap2 = heap_and_pages(&pages2);
		if (err != h->expect || pages2 != pages || heap2 != heap || r.mm)
			ktest_fail(t, __FILE__, __LINE__,
				   "%s: got %d (want %d), free pages %ld, heap bytes %ld", h->what,
				   err, h->expect, (long)(pages2 - pages), (long)(heap2 - heap));
		if (!err)
			exec_result_release(&r);
	}
	vfs_unlink(BAD_PATH);
	kfree(img);
	kfree(orig);
}

/* The file's bytes past p_filesz on the last file page are not the
 * program's: the bss reads zero, through a COW break that leaves the file
 * (its page cache) unchanged. PT_GNU_STACK with PF_X gives an executable
 * stack. A 16 GiB bss is accepted and costs nothing until touched. */
static void bss_and_stack_exec(struct ktest *t)
{
	uint64_t size;
	uint8_t *img = read_file(t, "/bin/hello", &size);
	if (!img)
		return;
	Elf64_Ehdr *eh = (void *)img;
	Elf64_Phdr *ph = (void *)(img + eh->e_phoff);
	Elf64_Phdr *p = nth_load(eh, ph, SEG_LAST_LOAD);
	KASSERT_TRUE(t, p && p->p_memsz > p->p_filesz);
	uint64_t fend = p->p_offset + p->p_filesz;
	uint64_t pend =
	    MIN(ALIGN_UP(p->p_vaddr + p->p_filesz, PAGE_SIZE) - p->p_vaddr + p->p_offset, size);
	KASSERT_GT(t, pend, fend);
	memset(img + fend, 0xaa, pend - fend); /* what follows the segment in the file */
	find_type(eh, ph, PT_GNU_STACK)->p_flags |= PF_X;
	KASSERT_EQ(t, write_file(BAD_PATH, img, size), 0);
	struct exec_result r;
	KASSERT_EQ(t, kernel_execve_prepare(BAD_PATH, NULL, NULL, &r), 0);
	check_segments(t, r.mm, img, size, 0);
	KEXPECT_TRUE(t, r.exec_stack);
	KEXPECT_EQ(t, vma_prot_at(r.mm, EXEC_STACK_TOP - 1, NULL, NULL),
		   VM_READ | VM_WRITE | VM_EXEC);
	exec_result_release(&r);
	/* the file still has its bytes */
	uint8_t b[16];
	struct file *f;
	KASSERT_EQ(t, vfs_open(BAD_PATH, O_RDONLY, &f), 0);
	KEXPECT_EQ(t, vfs_pread(f, b, 1, pend - 1), 1);
	KEXPECT_EQ(t, b[0], 0xaa);
	vfs_close(f);

	/* a huge bss (16 GiB): lazily allocated */
	p->p_memsz = 1ull << 34;
	KASSERT_EQ(t, write_file(BAD_PATH, img, size), 0);
	uint64_t pages = ktest_free_pages();
	KASSERT_EQ(t, kernel_execve_prepare(BAD_PATH, NULL, NULL, &r), 0);
	KEXPECT_LT(t, pages - ktest_free_pages(), 64);
	KEXPECT_EQ(t, r.brk, ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE_SIZE));
	KEXPECT_EQ(t, mm_u64(r.mm, r.brk - 8), 0);
	exec_result_release(&r);
	vfs_unlink(BAD_PATH);
	kfree(img);
}

/* ---- argument limits -------------------------------------------------------- */

static void e2big(struct ktest *t)
{
	struct exec_result r;
	/* fill the inode and page caches of the files used below */
	kernel_execve_prepare("/hello.txt", NULL, NULL, &r);
	kernel_execve_prepare("/bin/nonexistent", NULL, NULL, &r);
	if (!kernel_execve_prepare("/bin/hello", NULL, NULL, &r))
		exec_result_release(&r);
	uint64_t pages, heap = heap_and_pages(&pages);
	char *big = kmalloc(MAX_ARG_STRLEN + 1);
	KASSERT_NOT_NULL(t, big);
	memset(big, 'a', MAX_ARG_STRLEN);
	big[MAX_ARG_STRLEN] = 0; /* 131072 characters + NUL: one too many */
	char *argv[20] = { "/bin/hello", big, NULL };
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", argv, NULL, &r), -E2BIG);
	char *envp[] = { big, NULL };
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", NULL, envp, &r), -E2BIG);
	/* open comes first: a missing file is ENOENT whatever the arguments */
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/nonexistent", argv, NULL, &r), -ENOENT);
	/* the arguments come before the ELF check */
	KEXPECT_EQ(t, kernel_execve_prepare("/hello.txt", argv, NULL, &r), -E2BIG);
	big[MAX_ARG_STRLEN - 1] = 0; /* exactly MAX_ARG_STRLEN with its NUL: fits */
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", argv, NULL, &r), 0);
	if (r.mm) {
		char s[16];
		KEXPECT_EQ(t, mm_u64(r.mm, r.sp), 2);
		KEXPECT_TRUE(t, mm_str(r.mm, mm_u64(r.mm, r.sp + 8), s, sizeof(s)) &&
				    !strcmp(s, "/bin/hello"));
		exec_result_release(&r);
	}
	/* All strings and pointers: at most 2 MiB (a quarter of 8 MiB). 15
	 * strings of 128 KiB fit, 16 plus the path and pointers do not. */
	for (int i = 1; i <= 15; i++)
		argv[i] = big;
	argv[16] = NULL;
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", argv, NULL, &r), 0);
	exec_result_release(&r);
	argv[16] = big;
	argv[17] = NULL;
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", argv, NULL, &r), -E2BIG);
	/* the same split between argv and envp */
	char *envp2[10];
	for (int i = 0; i < 9; i++)
		envp2[i] = big;
	envp2[9] = NULL;
	argv[9] = NULL;
	KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", argv, envp2, &r), -E2BIG);
	/* Linux's exact bound: strings + (argc + envc) pointers + the path
	 * <= 2 MiB. Fill it to the byte with small strings, then one over. */
	uint64_t limit = 2ull << 20;
	uint64_t path = strlen("/bin/hello") + 1;
	int n = 0;
	static char *many[20];
	uint64_t used = path;
	/* argv[0] and k big strings of MAX_ARG_STRLEN, then one string to fill */
	many[n++] = "/bin/hello";
	used += path + 8;
	while (limit - used - 8 > MAX_ARG_STRLEN && n < 18) {
		many[n++] = big;
		used += MAX_ARG_STRLEN + 8;
	}
	uint64_t rest = limit - used - 8; /* the last string's pointer */
	char *filler = kmalloc(rest);
	if (filler && rest >= 1 && rest <= MAX_ARG_STRLEN) {
		memset(filler, 'b', rest - 1);
		filler[rest - 1] = 0;
		many[n] = filler;
		many[n + 1] = NULL;
		KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", many, NULL, &r), 0);
		exec_result_release(&r);
		char *f2 = kmalloc(rest + 1);
		if (f2) {
			memset(f2, 'b', rest);
			f2[rest] = 0; /* one byte more */
			many[n] = f2;
			KEXPECT_EQ(t, kernel_execve_prepare("/bin/hello", many, NULL, &r), -E2BIG);
			kfree(f2);
		}
	} else {
		ktest_fail(t, __FILE__, __LINE__, "filler of %lu bytes", rest);
	}
	kfree(filler);
	kfree(big);
	uint64_t pages2, heap2 = heap_and_pages(&pages2);
	KEXPECT_EQ(t, pages2, pages);
	KEXPECT_EQ(t, heap2, heap);
}

/* ---- argv and envp in user memory ----------------------------------------- */

struct user_args {
	uint64_t base;
	int results[6];
};

/* In a thread running in the caller's mm: user arrays, and bad pointers. */
static void user_args_fn(void *arg)
{
	struct user_args *u = arg;
	uint64_t b = u->base;
	/* strings at b + 1024.., arrays at b */
	static const char *const strs[] = { "/bin/args", "--user", "K=V" };
	uint64_t off = 1024, addr[3];
	for (int i = 0; i < 3; i++) {
		addr[i] = b + off;
		copy_to_user(addr[i], strs[i], strlen(strs[i]) + 1);
		off += strlen(strs[i]) + 1;
	}
	/* a string crossing into the next page */
	uint64_t cross = b + PAGE_SIZE - 3;
	copy_to_user(cross, "cross", 6);
	uint64_t argv[] = { addr[0], addr[1], cross, 0 }, envp[] = { addr[2], 0 };
	copy_to_user(b, argv, sizeof(argv));
	copy_to_user(b + 64, envp, sizeof(envp));
	struct exec_result r;
	u->results[0] = execve_prepare_user("/bin/args", b, b + 64, &r);
	if (!u->results[0]) {
		char s[16];
		struct mm *mm = r.mm;
		bool ok = mm_u64(mm, r.sp) == 3 && r.envc == 1 &&
			  mm_str(mm, mm_u64(mm, r.sp + 8), s, 16) && !strcmp(s, "/bin/args") &&
			  mm_str(mm, mm_u64(mm, r.sp + 16), s, 16) && !strcmp(s, "--user") &&
			  mm_str(mm, mm_u64(mm, r.sp + 24), s, 16) && !strcmp(s, "cross") &&
			  mm_u64(mm, r.sp + 32) == 0 && mm_str(mm, mm_u64(mm, r.sp + 40), s, 16) &&
			  !strcmp(s, "K=V");
		u->results[1] = ok;
		exec_result_release(&r);
	}
	/* argv array unmapped; a string pointer to the kernel; an array
	 * running off the end of the mapping; argv in the kernel */
	u->results[2] = execve_prepare_user("/bin/args", 0x1000, 0, &r);
	uint64_t badv[] = { addr[0], 0xffffffff80000000ull, 0 };
	copy_to_user(b + 128, badv, sizeof(badv));
	u->results[3] = execve_prepare_user("/bin/args", b + 128, 0, &r);
	uint64_t endp = b + 2 * PAGE_SIZE - 8;
	copy_to_user(endp, &addr[0], 8); /* no NULL before the end of the mapping */
	u->results[4] = execve_prepare_user("/bin/args", endp, 0, &r);
	u->results[5] = execve_prepare_user("/bin/args", (uint64_t)strs, 0, &r);
}

static void user_pointers(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	struct user_args u = { .base = ktest_mmap(mm, 2 * PAGE_SIZE) };
	KASSERT_NE(t, u.base, 0);
	ktest_run_in_mm(mm, CPU_ANY, user_args_fn, &u);
	KEXPECT_EQ(t, u.results[0], 0);
	KEXPECT_EQ(t, u.results[1], 1);
	KEXPECT_EQ(t, u.results[2], -EFAULT);
	KEXPECT_EQ(t, u.results[3], -EFAULT);
	KEXPECT_EQ(t, u.results[4], -EFAULT);
	KEXPECT_EQ(t, u.results[5], -EFAULT);
	mmput(mm);
}

/* ---- brk -------------------------------------------------------------------- */

/* sys_brk semantics: the new break, or the old one when it cannot move. */
static void brk(struct ktest *t)
{
	struct exec_result r;
	KASSERT_EQ(t, kernel_execve_prepare("/bin/hello", NULL, NULL, &r), 0);
	struct mm *mm = r.mm;
	uint64_t b0 = r.brk;
	KEXPECT_EQ(t, b0 & (PAGE_SIZE - 1), 0);
	KEXPECT_EQ(t, vm_brk(mm, 0), b0);      /* a query (below start_brk) */
	KEXPECT_EQ(t, vm_brk(mm, b0 - 1), b0); /* below start_brk */
	KEXPECT_EQ(t, vm_brk(mm, b0 + 10000), b0 + 10000);
	KEXPECT_EQ(t, vma_prot_at(mm, b0, NULL, NULL), VM_READ | VM_WRITE);
	KEXPECT_EQ(t, vma_prot_at(mm, b0 + 3 * PAGE_SIZE - 1, NULL, NULL), VM_READ | VM_WRITE);
	KEXPECT_EQ(t, vma_prot_at(mm, b0 + 3 * PAGE_SIZE, NULL, NULL), ~0ul);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, b0 + 8192, 0x5a5a), 0);
	/* shrink: the pages above go; growing again gives zeros */
	KEXPECT_EQ(t, vm_brk(mm, b0 + 100), b0 + 100);
	KEXPECT_EQ(t, vma_prot_at(mm, b0 + PAGE_SIZE, NULL, NULL), ~0ul);
	KEXPECT_EQ(t, vm_brk(mm, b0 + 3 * PAGE_SIZE), b0 + 3 * PAGE_SIZE);
	uint64_t v = 1;
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, b0 + 8192, &v), 0);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, vm_brk(mm, b0), b0);
	/* another mapping 16 pages up: brk may reach up to one guard page
	 * below it, never into it */
	uint64_t other = b0 + 16 * PAGE_SIZE;
	KASSERT_EQ(t,
		   vm_mmap(mm, other, PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		   (int64_t)other);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, other, 0x77), 0);
	KEXPECT_EQ(t, vm_brk(mm, other + 1), b0);
	KEXPECT_EQ(t, vm_brk(mm, other - PAGE_SIZE + 1), b0);
	KEXPECT_EQ(t, vm_brk(mm, other - PAGE_SIZE), other - PAGE_SIZE);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, other, &v), 0);
	KEXPECT_EQ(t, v, 0x77);
	/* past the user half */
	KEXPECT_EQ(t, vm_brk(mm, USER_SPACE_END), other - PAGE_SIZE);
	KEXPECT_EQ(t, vm_brk(mm, ~0ull), other - PAGE_SIZE);
	KEXPECT_EQ(t, vm_brk(mm, b0), b0);
	exec_result_release(&r);
}

KTEST_SUITE(exec, KTEST_CASE(musl_static), KTEST_CASE(glibc_static), KTEST_CASE(glibc_static_pie),
	    KTEST_CASE(no_leak), KTEST_CASE(empty_argv), KTEST_CASE(not_found_or_not_file),
	    KTEST_CASE(dynamic_refused), KTEST_CASE(hostile_images), KTEST_CASE(bss_and_stack_exec),
	    KTEST_CASE(e2big), KTEST_CASE(user_pointers), KTEST_CASE(brk));
