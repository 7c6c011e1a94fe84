/*
 * kernel/exec.c - execve's loading half (Linux: fs/exec.c and
 * fs/binfmt_elf.c): a new address space holding a static ELF64 program, its
 * initial stack and its break. Entering user mode is the caller's part
 * (see kernel/exec.h for how to use it).
 *
 * The order is Linux's, so the same errors win: open the file (ENOENT,
 * EACCES), count the arguments (E2BIG, EFAULT), make the new mm with its
 * stack and copy the strings into it top-down (E2BIG), then read and check
 * the ELF headers (ENOEXEC, kernel/elf.c), refuse a program with an
 * interpreter (ENOENT when it is absent, which is always: we have no
 * dynamic linker), map the segments, and build the tables under the
 * strings. Any error drops the new mm (mmput frees every page and table it
 * got) and the file: nothing leaks, and the caller's mm is never touched.
 *
 * Segments (Linux's elf_map + padzero): each PT_LOAD's file part is mapped
 * MAP_PRIVATE|MAP_FIXED from the file, from its first page to the page
 * holding its last file byte; if p_memsz > p_filesz, the rest of that last
 * page is zeroed through a write (a FOLL_WRITE GUP: COW breaks, the page
 * cache keeps the file's bytes) while the mapping is temporarily writable,
 * and the whole pages up to p_vaddr + p_memsz are anonymous (demand-zero).
 * A segment that starts on the page where the previous one ends replaces
 * that page (MAP_FIXED, as Linux); one that has no file bytes and would do
 * so is refused (Linux would zero the previous segment's bytes there).
 * ET_DYN (static PIE) is loaded at ELF_ET_DYN_BASE, as Linux places a PIE
 * without randomization. The break starts at the page-aligned end of the
 * highest segment (mm->start_brk; vm_brk in mm/mm.c moves it).
 *
 * The stack (Linux's create_elf_tables), from EXEC_STACK_TOP down: 8 bytes
 * of zeros, the path given to execve (AT_EXECFN), the environment strings,
 * the argument strings (argv[0] lowest), 16-byte alignment, "x86_64"
 * (AT_PLATFORM), 16 random bytes (AT_RANDOM), then rsp rounded down to 16
 * bytes with argc, argv[], NULL, envp[], NULL and the auxv pairs above it.
 * No vDSO (no AT_SYSINFO_EHDR), and no AT_MINSIGSTKSZ until signal frames
 * exist. An empty argv gets "" as argv[0], as Linux 5.18+ does.
 *
 * Locks: none of its own. The new mm is private to this thread until it is
 * returned; get_user_pages takes its mmap_lock for each page written.
 */
#include "kernel/signal.h"
#include "kernel/exec.h"
#include "kernel/sched.h"
#include "kernel/sys_file.h"
#include "kernel/fdtable.h"
#include "kernel/process.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/errname.h"
#include "kernel/fs/procfs.h"
#include "kernel/printk.h"
#include "kernel/random.h"
#include "kernel/string.h"
#include "kernel/fs/fs.h"
#include "mm/mm.h"
#include "mm/gup.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "arch/arch.h"

#define USER_TOP (USER_SPACE_END - PAGE_SIZE) /* mm/mm.c's limit for mappings */

/* ---- argument vectors: kernel arrays or user arrays ---------------------- */

struct strv {
	bool user;
	char *const *k; /* kernel: NULL-terminated array, or NULL */
	uint64_t u;	/* user: address of the array in the caller's mm, or 0 */
};

static int strv_get(const struct strv *v, uint64_t i, uint64_t *ptr)
{
	if (!v->user) {
		*ptr = (uint64_t)v->k[i];
		return 0;
	}
	return get_user_u64(ptr, v->u + i * sizeof(uint64_t)) ? -EFAULT : 0;
}

/* How many strings, at most `bound` (more: -E2BIG, as the limit below
 * would say anyway: their pointers alone would fill it). */
static int strv_count(const struct strv *v, uint64_t bound, uint64_t *n)
{
	*n = 0;
	if (v->user ? !v->u : !v->k)
		return 0;
	for (uint64_t i = 0;; i++) {
		uint64_t p;
		int err = strv_get(v, i, &p);
		if (err)
			return err;
		if (!p)
			return 0;
		if (i + 1 > bound)
			return -E2BIG;
		*n = i + 1;
	}
}

/* The length of a string with its NUL, looking at most max bytes; max + 1
 * means longer. User strings are read a page at a time. */
static int str_len(bool user, uint64_t s, uint64_t max, uint64_t *len)
{
	if (!user) {
		*len = strnlen((const char *)s, max) + 1;
		return 0;
	}
	uint64_t n = 0;
	char buf[128];
	while (n < max) {
		uint64_t a = s + n;
		uint64_t k = MIN(MIN(sizeof(buf), PAGE_SIZE - (a & (PAGE_SIZE - 1))), max - n);
		if (copy_from_user(buf, a, k))
			return -EFAULT;
		for (uint64_t i = 0; i < k; i++)
			if (!buf[i]) {
				*len = n + i + 1;
				return 0;
			}
		n += k;
	}
	*len = max + 1;
	return 0;
}

/* ---- writing into the new mm, a page at a time ------------------------- */

struct mm_cursor {
	struct mm *mm;
	uint64_t page;
	struct page *pg;
};

static void cursor_put(struct mm_cursor *c)
{
	if (c->pg)
		put_page(c->pg);
	c->pg = NULL;
}

/* A kernel pointer to addr in c->mm, writable (COW broken), valid to the
 * end of its page until the cursor moves; NULL if unmapped. */
static uint8_t *cursor_at(struct mm_cursor *c, uint64_t addr)
{
	uint64_t pa = addr & PAGE_MASK;
	if (!c->pg || c->page != pa) {
		cursor_put(c);
		struct page *pg;
		if (get_user_pages(c->mm, pa, 1, FOLL_WRITE, &pg) != 1)
			return NULL;
		c->pg = pg;
		c->page = pa;
	}
	return (uint8_t *)page_address(c->pg) + (addr - pa);
}

/* Copy n bytes from src (a kernel pointer, or a user address of the
 * caller's mm) to addr of the new mm; zero them if src is 0. */
static int mm_write(struct mm_cursor *c, uint64_t addr, uint64_t src, bool user, uint64_t n)
{
	while (n) {
		uint8_t *dst = cursor_at(c, addr);
		if (!dst)
			return -EFAULT;
		uint64_t k = MIN(n, PAGE_SIZE - (addr & (PAGE_SIZE - 1)));
		if (!src)
			memset(dst, 0, k);
		else if (user) {
			if (copy_from_user(dst, src, k))
				return -EFAULT;
		} else
			memcpy(dst, (const void *)src, k);
		addr += k;
		if (src)
			src += k;
		n -= k;
	}
	return 0;
}

static int mm_put_u64(struct mm_cursor *c, uint64_t addr, uint64_t v)
{
	return mm_write(c, addr, (uint64_t)&v, false, sizeof(v));
}

/* ---- the strings ---------------------------------------------------------- */

struct exec_ctx {
	const char *path;
	struct strv argv, envp;
	uint64_t argc, envc;
	struct mm *mm;
	struct mm_cursor cur;
	uint64_t p;	 /* the stack's lowest byte in use so far */
	uint64_t argmin; /* p may not go below it (E2BIG) */
	uint64_t execfn; /* the path's copy on the stack (AT_EXECFN) */
	struct file *f;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	struct elf_plan plan;
};

/* Linux's copy_strings: strings n-1 .. 0 of v, each just below the last. */
static int copy_strings(struct exec_ctx *x, const struct strv *v, uint64_t n)
{
	for (uint64_t i = n; i-- > 0;) {
		uint64_t s, len;
		int err = strv_get(v, i, &s);
		if (!err && !s)
			err = -EFAULT; /* the array changed under us */
		if (!err)
			err = str_len(v->user, s, MAX_ARG_STRLEN, &len);
		if (err)
			return err;
#ifndef MUTATION_EXEC_NO_ARG_STRLEN_LIMIT
		if (len > MAX_ARG_STRLEN)
			return -E2BIG;
#endif
		if (len > x->p - x->argmin)
			return -E2BIG;
		x->p -= len;
		/* The string's bytes, then our own NUL: a string that another
		 * thread changes meanwhile still ends where we measured it. */
		if ((err = mm_write(&x->cur, x->p, s, v->user, len - 1)) ||
		    (err = mm_write(&x->cur, x->p + len - 1, 0, false, 1)))
			return err;
	}
	return 0;
}

/* Linux's bprm_stack_limits, then the strings: execfn, envp, argv. */
static int setup_strings(struct exec_ctx *x)
{
	uint64_t limit = MIN(EXEC_STACK_RLIMIT / 4, (8ull << 20) / 4 * 3); /* _STK_LIM 8 MiB */
	limit = MAX(limit, 32 * PAGE_SIZE);				   /* ARG_MAX */
	uint64_t ptrs = (MAX(x->argc, 1) + x->envc) * sizeof(uint64_t);
	if (limit <= ptrs)
		return -E2BIG;
	x->p = EXEC_STACK_TOP - sizeof(uint64_t);
	x->argmin = x->p - (limit - ptrs);
	struct strv execfn = { .user = false, .k = (char *const[]){ (char *)x->path, NULL } };
	int err = copy_strings(x, &execfn, 1);
	x->execfn = x->p;
	if (!err)
		err = copy_strings(x, &x->envp, x->envc);
	if (!err)
		err = copy_strings(x, &x->argv, x->argc);
	if (!err && x->argc == 0) {
		static char *const empty[] = { "", NULL };
		struct strv e = { .user = false, .k = empty };
		err = copy_strings(x, &e, 1);
		x->argc = 1;
	}
	return err;
}

/* ---- the ELF file ----------------------------------------------------------- */

static int log_enoexec(struct exec_ctx *x)
{
	printk("exec: %s: not a static x86-64 ELF executable (ENOEXEC): %s\n", x->path,
	       x->plan.why ? x->plan.why : "short read");
	return -ENOEXEC;
}

static int read_headers(struct exec_ctx *x)
{
	uint64_t size = vfs_size(x->f);
	memset(&x->eh, 0, sizeof(x->eh));
	ssize_t n = vfs_pread(x->f, &x->eh, sizeof(x->eh), 0);
	if (n < 0)
		return (int)n;
	x->plan.why = NULL;
	if (elf_check_ehdr(&x->eh, size, &x->plan) || (uint64_t)n < sizeof(x->eh))
		return log_enoexec(x);
	uint64_t phsize = (uint64_t)x->eh.e_phnum * sizeof(Elf64_Phdr); /* <= 64 KiB */
	x->ph = kmalloc(phsize);
	if (!x->ph)
		return -ENOMEM;
	n = vfs_pread(x->f, x->ph, phsize, x->eh.e_phoff);
	if (n < 0)
		return (int)n;
	if ((uint64_t)n != phsize)
		return log_enoexec(x);
	if (elf_plan(&x->eh, x->ph, size, USER_TOP, &x->plan))
		return log_enoexec(x);
	return 0;
}

/* PT_INTERP: we load no interpreter. As Linux, an absent one is -ENOENT
 * (what execve of a dynamically linked program says on a system without
 * its loader); a present one is -ENOEXEC (dynamic linking is not
 * supported). Either way the log says why. */
static int refuse_interp(struct exec_ctx *x)
{
	const Elf64_Phdr *p = &x->ph[x->plan.interp];
	char *interp = kmalloc(p->p_filesz); /* 2 .. ELF_MAX_INTERP bytes */
	if (!interp)
		return -ENOMEM;
	ssize_t n = vfs_pread(x->f, interp, p->p_filesz, p->p_offset);
	int err;
	if (n < 0) {
		err = (int)n;
	} else if ((uint64_t)n != p->p_filesz || interp[p->p_filesz - 1]) {
		x->plan.why = "PT_INTERP not a NUL-terminated path";
		err = log_enoexec(x);
	} else {
		struct file *fi;
		err = vfs_open(interp, O_RDONLY, &fi);
		if (err) {
			printk("exec: %s: dynamically linked, and its interpreter %s is absent "
			       "(%s): only static programs run here\n",
			       x->path, interp, errno_name(-err));
		} else {
			vfs_close(fi);
			printk("exec: %s: dynamically linked (interpreter %s): not supported, "
			       "only static programs run here (ENOEXEC)\n",
			       x->path, interp);
			err = -ENOEXEC;
		}
	}
	kfree(interp);
	return err;
}

static int pf_to_prot(uint32_t pf)
{
	return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

/* Map one PT_LOAD (see the top of the file). mapped_end: the page-aligned
 * end of the segments mapped so far. */
static int map_segment(struct exec_ctx *x, const Elf64_Phdr *p, uint64_t *mapped_end)
{
	int prot = pf_to_prot(p->p_flags);
	uint64_t v = p->p_vaddr + x->plan.bias;
	uint64_t start = v & PAGE_MASK;
	uint64_t file_end = v + p->p_filesz, mem_end = v + p->p_memsz;
	uint64_t fpage_end = ALIGN_UP(file_end, PAGE_SIZE),
		 mpage_end = ALIGN_UP(mem_end, PAGE_SIZE);
	uint64_t anon_start = start;
	int64_t r;
	if (p->p_filesz) {
		bool pad = p->p_memsz > p->p_filesz && (file_end & (PAGE_SIZE - 1));
		int mprot = prot | (pad ? PROT_WRITE : 0);
		r = vfs_mmap(x->mm, x->f, start, fpage_end - start, mprot, MAP_PRIVATE | MAP_FIXED,
			     p->p_offset & PAGE_MASK);
		if (r < 0)
			return (int)r;
		if (pad) {
#ifndef MUTATION_EXEC_NO_BSS_PAD
			/* Linux's padzero: the file's bytes past p_filesz are not the
			 * program's; zero them to the end of the page. */
			r = mm_write(&x->cur, file_end, 0, false, fpage_end - file_end);
			cursor_put(&x->cur);
			if (r)
				return (int)r;
#endif
			r = vm_mprotect(x->mm, start, fpage_end - start, prot);
			if (r)
				return (int)r;
		}
		anon_start = fpage_end;
	} else if (start < *mapped_end) {
		x->plan.why = "PT_LOAD without file bytes on the previous segment's page";
		return log_enoexec(x);
	}
	if (mpage_end > anon_start) {
		r = vm_mmap(x->mm, anon_start, mpage_end - anon_start, prot,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		if (r < 0)
			return (int)r;
	}
	*mapped_end = MAX(*mapped_end, mpage_end);
	return 0;
}

static int map_segments(struct exec_ctx *x)
{
	uint64_t mapped_end = 0;
	for (int i = 0; i < x->eh.e_phnum; i++) {
		if (x->ph[i].p_type != PT_LOAD || !x->ph[i].p_memsz)
			continue;
		int err = map_segment(x, &x->ph[i], &mapped_end);
		if (err)
			return err;
	}
	x->mm->start_brk = x->mm->brk = x->plan.hi;
	return 0;
}

/* ---- the tables under the strings ---------------------------------------- */

/* n pointers at *w to the strings from *s on, then a NULL; *s ends past
 * the n-th string, which must end below limit. */
static int put_string_ptrs(struct exec_ctx *x, struct mm_cursor *rd, uint64_t *w, uint64_t *s,
			   uint64_t n, uint64_t limit)
{
	for (uint64_t i = 0; i < n; i++) {
		int err = mm_put_u64(&x->cur, *w, *s);
		if (err)
			return err;
		*w += 8;
		for (;;) {
			uint8_t *c = *s < limit ? cursor_at(rd, *s) : NULL;
			if (!c)
				return -EFAULT;
			(*s)++;
			if (!*c)
				break;
		}
	}
	int err = mm_put_u64(&x->cur, *w, 0);
	*w += 8;
	return err;
}

static int create_tables(struct exec_ctx *x, struct exec_result *out)
{
	struct mm *mm = x->mm;
	uint64_t execfn = x->execfn;
	uint64_t p = x->p & ~15ull; /* arch_align_stack, without the random offset */
	static const char platform[] = "x86_64";
	p -= sizeof(platform);
	uint64_t u_platform = p;
	int err = mm_write(&x->cur, p, (uint64_t)platform, false, sizeof(platform));
	uint8_t rnd[16];
	get_random_bytes(rnd, sizeof(rnd));
	p -= sizeof(rnd);
	uint64_t u_random = p;
	if (!err)
		err = mm_write(&x->cur, p, (uint64_t)rnd, false, sizeof(rnd));
	if (err)
		return err;

	uint64_t auxv[] = {
		AT_HWCAP,    arch_elf_hwcap(),
		AT_PAGESZ,   PAGE_SIZE,
		AT_CLKTCK,   100,
		AT_PHDR,     x->plan.phdr,
		AT_PHENT,    sizeof(Elf64_Phdr),
		AT_PHNUM,    x->eh.e_phnum,
		AT_BASE,     0,
		AT_FLAGS,    0,
		AT_ENTRY,    x->plan.entry,
		AT_UID,	     0,
		AT_EUID,     0,
		AT_GID,	     0,
		AT_EGID,     0,
		AT_SECURE,   0,
		AT_RANDOM,   u_random,
		AT_HWCAP2,   0, /* no FSGSBASE for user space */
		AT_EXECFN,   execfn,
		AT_PLATFORM, u_platform,
		AT_NULL,     0,
	};
	uint64_t items = (x->argc + 1) + (x->envc + 1) + 1;
	uint64_t sp = (p - sizeof(auxv) - items * sizeof(uint64_t)) & ~15ull;
#ifdef MUTATION_EXEC_STACK_MISALIGNED
	sp -= 8;
#endif
	/* argc, then a pointer to each string, found by walking them from the
	 * lowest (Linux: strnlen_user on the new stack). */
	uint64_t w = sp;
	err = mm_put_u64(&x->cur, w, x->argc);
	w += 8;
	struct mm_cursor rd = { .mm = mm };
	uint64_t s = x->p;
	mm->arg_start = s;
	if (!err)
		err = put_string_ptrs(x, &rd, &w, &s, x->argc, execfn);
	mm->arg_end = mm->env_start = s;
	if (!err)
		err = put_string_ptrs(x, &rd, &w, &s, x->envc, execfn);
	mm->env_end = s;
	cursor_put(&rd);
	if (!err)
		err = mm_write(&x->cur, w, (uint64_t)auxv, false, sizeof(auxv));
	if (err)
		return err;
	mm->start_stack = sp;
	out->sp = sp;
	out->random = u_random;
	out->execfn = execfn;
	return 0;
}

/* ---- putting it together ------------------------------------------------- */

static int exec_prepare(struct exec_ctx *x, struct exec_result *out)
{
	int err = vfs_open(x->path, O_RDONLY, &x->f);
	if (err)
		return err;
	if (x->f->inode->d.mode != SFS_S_IFREG)
		return -EACCES; /* a directory: Linux says EACCES too */
	/* its name in /proc/PID/maps */
	procfs_note_path(x->f->inode->ino, x->path);
	/* More pointers than fit in the 2 MiB limit: E2BIG whatever follows. */
	uint64_t bound = EXEC_STACK_RLIMIT / 4 / sizeof(uint64_t);
	if ((err = strv_count(&x->argv, bound, &x->argc)) ||
	    (err = strv_count(&x->envp, bound, &x->envc)))
		return err;
	if (!(x->mm = mm_alloc()))
		return -ENOMEM;
	x->cur.mm = x->mm;
	int64_t r = vm_mmap(x->mm, EXEC_STACK_TOP - EXEC_STACK_SIZE, EXEC_STACK_SIZE,
			    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	if (r < 0)
		return (int)r;
	if ((err = setup_strings(x)) || (err = read_headers(x)))
		return err;
	if (x->plan.interp >= 0)
		return refuse_interp(x);
	if (x->plan.exec_stack &&
	    (err = vm_mprotect(x->mm, EXEC_STACK_TOP - EXEC_STACK_SIZE, EXEC_STACK_SIZE,
			       PROT_READ | PROT_WRITE | PROT_EXEC)))
		return err;
	if ((err = map_segments(x)) || (err = create_tables(x, out)))
		return err;
	out->entry = x->plan.entry;
	out->bias = x->plan.bias;
	out->phdr = x->plan.phdr;
	out->brk = x->mm->brk;
	out->argc = x->argc;
	out->envc = x->envc;
	out->exec_stack = x->plan.exec_stack;
	return 0;
}

static int exec_run(struct exec_ctx *x, struct exec_result *out)
{
	memset(out, 0, sizeof(*out));
	int err = exec_prepare(x, out);
	cursor_put(&x->cur);
	if (x->f)
		vfs_close(x->f); /* the VMAs hold their own references */
	kfree(x->ph);
	if (err) {
		if (x->mm)
			mmput(x->mm);
		return err;
	}
	out->mm = x->mm;
	return 0;
}

int kernel_execve_prepare(const char *path, char *const argv[], char *const envp[],
			  struct exec_result *out)
{
	struct exec_ctx x = {
		.path = path,
		.argv = { .user = false, .k = argv },
		.envp = { .user = false, .k = envp },
	};
	return exec_run(&x, out);
}

int execve_prepare_user(const char *path, uint64_t uargv, uint64_t uenvp, struct exec_result *out)
{
	struct exec_ctx x = {
		.path = path,
		.argv = { .user = true, .u = uargv },
		.envp = { .user = true, .u = uenvp },
	};
	return exec_run(&x, out);
}

void exec_result_release(struct exec_result *r)
{
	if (r->mm)
		mmput(r->mm);
	r->mm = NULL;
}

/* ---- the system call ---------------------------------------------------- */

/* Before the new program runs: an fd table of its own (shared ones are
 * copied, as Linux's unshare_files), close-on-exec fds closed. */
static void exec_files(void)
{
	struct files_struct *files = current_files();
	if (!files)
		return;
	if (atomic_read(&files->count) > 1) {
		int err;
		struct files_struct *copy = dup_fd(files, &err);
		if (copy) {
			put_files(set_current_files(copy));
			files = copy;
		} /* else: keep sharing (Linux fails the exec earlier) */
	}
#ifndef MUTATION_EXEC_NO_CLOEXEC
	do_close_on_exec(files);
#endif
}

int64_t sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp)
{
	char *path = kmalloc(PATH_MAX);
	if (!path)
		return -ENOMEM;
	long err = getname_resolved(upath, path);
	struct exec_result r;
	if (!err)
		err = execve_prepare_user(path, uargv, uenvp, &r);
	if (!err) {
		err = de_thread();
		if (!err)
			err = signal_exec(); /* own handler table, handlers reset */
		if (err)
			exec_result_release(&r);
	}
	if (err) {
		kfree(path);
		return err; /* the old program carries on */
	}
	/* The point of no return. */
	struct thread *t = current;
	mm_release(t);
	exec_files();
	/* /proc reads a thread's mm under tasklist_lock: not while it changes
	 * (kernel/fs/procfs.c, proc_mm_grab). */
	spin_lock(&tasklist_lock);
	t->proc->mm_changing = true;
	spin_unlock(&tasklist_lock);
	exec_mmap(r.mm);
	spin_lock(&tasklist_lock);
	t->proc->mm_changing = false;
	spin_unlock(&tasklist_lock);
	process_set_exe(t->proc, path); /* /proc/PID/exe */
	const char *base = strrchr(path, '/');
	strlcpy(t->name, base ? base + 1 : path, sizeof(t->name));
	kfree(path);
	arch_exec_user_state(current_user_regs(), r.entry, r.sp);
	return 0;
}
