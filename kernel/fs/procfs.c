/*
 * kernel/fs/procfs.c - /proc, as Linux 6.1 shows it (fs/proc/task_mmu.c,
 * fs/proc/array.c, fs/proc/base.c, mm/vmstat.c, arch/x86/kernel/irq.c).
 *
 * What there is:
 *   /proc                 dir  0555: interrupts, vmstat, self, one dir per pid
 *   /proc/self            link 0777 -> "<caller's pid>"
 *   /proc/interrupts      0444: LOC, CAL and TLB rows, one column per CPU
 *   /proc/vmstat          0444: the kernel's counters (kernel/stats.h), under
 *                         Linux's names where Linux has them
 *   /proc/PID             dir  0555 (a thread id works too, unlisted, as Linux)
 *   /proc/PID/status, cmdline, maps, exe (link), smaps_rollup, pagemap
 *   (issue 15, what busybox's ps, top, free, uptime and df read:)
 *   /proc/PID/stat        Linux's 52 fields (do_task_stat): state, ppid, pgrp,
 *                         session, tty_nr and tpgid (the console tty,
 *                         /dev/ttyS0 4:64 in new_encode_dev form, and its
 *                         foreground group when the process's session is
 *                         the tty's; else 0 and -1), minflt cminflt majflt
 *                         cmajflt utime stime cutime cstime (the process's
 *                         and its reaped children's, kernel/rusage.c: the
 *                         times split as Linux's cputime_adjust, in USER_HZ
 *                         ticks), num_threads, starttime (the first
 *                         thread's creation, in USER_HZ ticks since boot),
 *                         vsize and rss (the same page walk as
 *                         smaps_rollup), exit_signal, processor
 *   /proc/PID/statm       size resident shared text 0 data 0, in pages
 *   /proc/PID/fd/         dir 0500 of links (0700), one per open fd: readlink is the
 *                         path (files, dirs, /proc files), pipe:[ino],
 *                         /dev/console; opening one opens the file again
 *                         (a file of SFS by its path; anything else is the
 *                         same open file, a new reference)
 *   /proc/meminfo         fs/proc/meminfo.c's labels; the figures from one
 *                         pass over mem_map (proc_meminfo_counts, also
 *                         sysinfo's), what is not kept here is 0
 *   /proc/cpuinfo         one block per online CPU, from CPUID
 *   /proc/stat            cpu lines (user: time in user threads; system: the
 *                         rest of the non-idle time; idle: the idle thread's),
 *                         intr (timer ticks), ctxt, btime, processes (forks
 *                         + 1), procs_running
 *   /proc/uptime, loadavg (avenrun of kernel/sched.c), mounts (the table
 *                         proc_mounts: one row per file system there is)
 * There is no mount: any path that is /proc or starts with /proc/ is ours
 * (kernel/sys_file.c asks procfs_path first), SFS never sees it.
 *
 * Rules, as Linux 6.1:
 *   - maps, smaps_rollup and pagemap take a reference on the struct mm at
 *     open (mmgrab: the struct and its PML4 stay, not the memory), and at
 *     each read an mm_users reference only if the address space is still
 *     alive (mmget_not_zero): a file opened while the process lived and
 *     read after it exited reads 0 bytes (maps: -ESRCH once the process is
 *     reaped, as m_start's get_proc_task). Nothing is read from an mm whose
 *     users are gone, and its struct is never freed under us.
 *   - status and cmdline look the process up at each read (-ESRCH once
 *     reaped); a zombie has no mm: no Vm lines, an empty cmdline.
 *   - The walks hold the target's mmap_lock for read (VMAs stay) and its
 *     page_table_lock while they read PTEs and the pages they map (a page
 *     cannot be freed while a PTE maps it: R1). Nothing is copied to user
 *     memory with either held (a fault on our own buffer takes mmap_lock).
 *   - pagemap: 8 bytes per page at offset vaddr/4096*8; PFN in bits 0-54
 *     (shown: everything runs as root), 55 soft-dirty (never), 56 "exclusively
 *     mapped" = page_mapcount() == 1 (6.1; not page_count: a page-cache page
 *     has references of its own), 61 file page or shared anonymous (the page
 *     is not PageAnon), 62 swapped (never), 63 present (a PROT_NONE page is
 *     present too: Linux's pte_present is). Offset or count not a multiple
 *     of 8: -EINVAL. Past the end of the user half: 0 bytes.
 *   - Getting another process's mm: its threads' t->mm change only by
 *     themselves (start, execve, exit). Under tasklist_lock a thread that
 *     has not begun to exit (t->sig.exiting, set under tasklist_lock before
 *     exit lets its mm go) and whose process is not in execve's mm swap
 *     (p->mm_changing, kernel/exec.c) has an mm that holds an mm_users
 *     reference for it: mmgrab/mmget on it is safe there (Linux's
 *     get_task_mm under task_lock).
 *   - Opening for write: everything runs as root, and root's DAC override
 *     opens a 0444 file for writing (generic_permission); the write then
 *     fails as Linux's: -EINVAL for the /proc/PID files (no write op:
 *     FMODE_CAN_WRITE clear), -EIO for vmstat and interrupts (proc_reg_write
 *     without proc_write). A directory: -EISDIR.
 *   - The name of a file a VMA maps: Linux prints the dentry's path. SFS
 *     inodes have no names, so the paths files were opened or execve'd by
 *     are remembered per inode (procfs_note_path, a small table); a name is
 *     checked again by a lookup (the same inode?) and else searched for in
 *     the tree; a file no longer in the tree prints " (deleted)" as Linux.
 *     Shared anonymous memory is "/dev/zero (deleted)" as Linux's shmem.
 *   - /proc/PID/fd: a process's fd table is reached through one of its
 *     threads that has not begun to exit, under tasklist_lock (the exit path
 *     sets t->sig.exiting under it before it lets the table go), and held
 *     by a reference (get_files) while the entry is looked up (fget).
 *   - meminfo's pass over mem_map reads each struct page once without its
 *     locks: a snapshot that may be off by the pages changing meanwhile, as
 *     Linux's counters are. A page-cache page's address_space is kmalloc
 *     memory, which stays mapped, so reading its a_ops (is it shmem?) is
 *     safe even while the page is being dropped.
 * Locks: tasklist_lock (spin) for the lookups; mmap_lock then
 * page_table_lock for the walks; pf->lock (rwsem) serializes the readers
 * of one open text file (pread does not take pos_lock); names_lock (spin)
 * the table of names.
 */
#include "kernel/fs/procfs.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/tmpfs.h"
#include "kernel/file.h"
#include "kernel/sys_file.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/stats.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/percpu.h"
#include "arch/x86_64/uaccess.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "mm/shmem.h"
#include "mm/kmalloc.h"
#include "kernel/fdtable.h"
#include "kernel/pipe.h"
#include "kernel/sys_time.h"
#include "kernel/rusage.h"
#include "kernel/tty.h"
#include "arch/x86_64/asm.h"
#include "arch/arch.h"

#include <stdarg.h>

#define S_IFLNK 0120000
#define DT_LNK	10

enum proc_kind {
	PK_ROOT,
	PK_INTERRUPTS,
	PK_VMSTAT,
	PK_MEMINFO,
	PK_CPUINFO,
	PK_STAT_ALL, /* /proc/stat */
	PK_UPTIME,
	PK_LOADAVG,
	PK_MOUNTS,
	PK_SELF,
	PK_PID_DIR,
	PK_STATUS,
	PK_CMDLINE,
	PK_MAPS,
	PK_EXE,
	PK_SMAPS_ROLLUP,
	PK_PAGEMAP,
	PK_STAT,
	PK_STATM,
	PK_FD_DIR,
	PK_FD_LINK, /* /proc/PID/fd/N: not a named entry */
	PK_NR,
};

/* The files of /proc itself, in readdir order. */
static const struct {
	const char *name;
	enum proc_kind kind;
} root_entries[] = {
	{ "interrupts", PK_INTERRUPTS }, { "vmstat", PK_VMSTAT }, { "meminfo", PK_MEMINFO },
	{ "cpuinfo", PK_CPUINFO },	 { "stat", PK_STAT_ALL }, { "uptime", PK_UPTIME },
	{ "loadavg", PK_LOADAVG },	 { "mounts", PK_MOUNTS },
};

static const char *const pid_entries[] = {
	/* Linux's tgid_base_stuff order */
	[PK_STATUS] = "status",
	[PK_CMDLINE] = "cmdline",
	[PK_MAPS] = "maps",
	[PK_EXE] = "exe",
	[PK_SMAPS_ROLLUP] = "smaps_rollup",
	[PK_PAGEMAP] = "pagemap",
	[PK_STAT] = "stat",
	[PK_STATM] = "statm",
	[PK_FD_DIR] = "fd",
};

struct proc_node {
	enum proc_kind kind;
	int pid; /* PK_PID_DIR and below: the pid (or tid) named */
	int fd;	 /* PK_FD_LINK: the fd */
};

static bool is_dir_kind(enum proc_kind k)
{
	return k == PK_ROOT || k == PK_PID_DIR || k == PK_FD_DIR;
}
static bool is_link_kind(enum proc_kind k)
{
	return k == PK_SELF || k == PK_EXE || k == PK_FD_LINK;
}

static uint64_t node_ino(const struct proc_node *n)
{
	if (n->kind < PK_PID_DIR)
		return 1 + (uint64_t)n->kind;
	if (n->kind == PK_FD_LINK)
		return (1ull << 48) | ((uint64_t)n->pid << 20) | (uint64_t)(unsigned)n->fd;
	return ((uint64_t)n->pid << 5) + (uint64_t)n->kind + 0x100;
}

/* ---- processes and their mm --------------------------------------------- */

/* The process pid names (a thread id names its process). tasklist_lock. */
static struct process *proc_find(int pid)
{
	struct process *p = find_process(pid);
	if (!p) {
		struct thread *t = find_thread(pid);
		p = t ? t->proc : NULL;
	}
	return p;
}

static bool pid_exists(int pid)
{
	spin_lock(&tasklist_lock);
	bool ok = proc_find(pid) != NULL;
	spin_unlock(&tasklist_lock);
	return ok;
}

/* A reference to the struct mm of pid (mmgrab), or NULL (no process, a
 * zombie, a kernel-made process without one). See the top for why reading
 * t->mm here is safe. A thread that has not started yet (a fork child
 * between clone and its first run) has no t->mm: Linux's child has its mm
 * from copy_process on, so we wait for it (bounded: a test's kernel thread
 * attached as a process may never have one), as for execve's swap. */
static struct mm *proc_mm_grab(int pid, bool *found)
{
	for (int tries = 0;; tries++) {
		spin_lock(&tasklist_lock);
		struct process *p = proc_find(pid);
		*found = p != NULL;
		struct mm *mm = NULL;
		bool wait = p && p->mm_changing;
		struct thread *t;
		if (p && p->state == PROC_ALIVE && !wait) {
			list_for_each_entry (t, &p->threads, group_node) {
				if (READ_ONCE(t->sig.exiting))
					continue;
				if (READ_ONCE(t->mm)) {
					mm = t->mm;
					mmgrab(mm);
					break;
				}
				wait = true; /* not started yet */
			}
		}
		spin_unlock(&tasklist_lock);
		if (mm || !wait || tries >= 200)
			return mm;
		if (tries < 20)
			yield();
		else
			sleep_ms(1);
	}
}

/* Linux's mmget_not_zero: a user reference only while the address space
 * lives (mm_users > 0). The caller holds mm_count. */
static bool mmget_not_zero(struct mm *mm)
{
	return atomic_add_unless(&mm->mm_users, 1, 0);
}

/* ---- a growing text buffer ---------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

#define SBUF_MAX (1u << 20)

static void sb_grow(struct sbuf *b, size_t need)
{
	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + need + 1)
		cap *= 2;
	char *n = cap <= SBUF_MAX ? kmalloc(cap) : NULL;
	if (!n) {
		b->oom = true;
		return;
	}
	if (b->p)
		memcpy(n, b->p, b->len);
	kfree(b->p);
	b->p = n;
	b->cap = cap;
}

static void __printf(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	sb_grow(b, (size_t)n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	b->p[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* Spaces up to column col of the current line (seq_pad's width). */
static void sb_pad_to(struct sbuf *b, size_t line_start, size_t col)
{
	while (!b->oom && b->len - line_start < col)
		sb_puts(b, " ");
}

/* ---- names of mapped files ---------------------------------------------- */

#define NAMES	 64
#define NAME_LEN 128
static struct {
	uint32_t ino;
	char path[NAME_LEN];
} names[NAMES];
static unsigned names_next;
static DEFINE_SPINLOCK(names_lock);

void procfs_note_path(uint32_t ino, const char *path)
{
	size_t n = strlen(path);
	if (n >= NAME_LEN || !ino)
		return; /* a longer one is searched for in the tree */
	spin_lock(&names_lock);
	int slot = -1;
	for (int i = 0; i < NAMES; i++)
		if (names[i].ino == ino)
			slot = i;
	if (slot < 0)
		slot = (int)(names_next++ % NAMES);
	names[slot].ino = ino;
	memcpy(names[slot].path, path, n + 1);
	spin_unlock(&names_lock);
}

/* path names inode (the same inode, found by lookup now)? */
static bool path_is_inode(const char *path, const struct inode *inode)
{
	struct file *f;
	if (vfs_open(path, O_RDONLY, &f))
		return false;
	bool same = f->inode == inode;
	vfs_close(f);
	return same;
}

/* Depth-first search of the tree below dir (buf, of PATH_MAX, holds it)
 * for inode: true with its path in buf. */
static bool find_in_tree(char *buf, size_t len, const struct inode *inode, int depth)
{
	struct file *d;
	if (depth > 8 || vfs_open(len ? buf : "/", O_RDONLY, &d))
		return false;
	bool found = false;
	uint64_t slot = 0;
	char name[SFS_NAME_MAX + 1];
	uint32_t ino;
	bool is_dir;
	while (!found && vfs_dir_next(d, &slot, name, &ino, &is_dir) == 1) {
		slot++;
		size_t n = strlen(name);
		if (len + 1 + n >= PATH_MAX)
			continue;
		buf[len] = '/';
		memcpy(buf + len + 1, name, n + 1);
		if (ino == inode->ino && !is_dir)
			found = path_is_inode(buf, inode);
		else if (is_dir)
			found = find_in_tree(buf, len + 1 + n, inode, depth + 1);
		if (!found)
			buf[len] = 0;
	}
	vfs_close(d);
	return found;
}

/* The name Linux would print for a VMA mapping inode, into buf[PATH_MAX]. */
static void inode_name(const struct inode *inode, char *buf)
{
	if (is_shmem_inode(inode)) {
		strlcpy(buf, "/dev/zero (deleted)", PATH_MAX);
		return;
	}
	char cached[NAME_LEN] = "";
	spin_lock(&names_lock);
	for (int i = 0; i < NAMES; i++)
		if (names[i].ino == inode->ino)
			memcpy(cached, names[i].path, NAME_LEN);
	spin_unlock(&names_lock);
	if (cached[0] && path_is_inode(cached, inode)) {
		strlcpy(buf, cached, PATH_MAX);
		return;
	}
	buf[0] = 0;
	if (find_in_tree(buf, 0, inode, 0))
		return;
	snprintf(buf, PATH_MAX, "%s (deleted)", cached[0] ? cached : "");
}

/* ---- maps and smaps_rollup ------------------------------------------------ */

struct vma_snap {
	uint64_t start, end, pgoff;
	unsigned long flags;
	struct inode *file; /* a reference (mapped_file_get), or NULL */
};

/* Copy mm's VMAs (mmap_lock held for read): a kmalloc'd array, or NULL. */
static struct vma_snap *snapshot_vmas(struct mm *mm, int *nr)
{
	int n = 0;
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node)
		n++;
	struct vma_snap *s = kmalloc(sizeof(*s) * (size_t)(n ? n : 1));
	if (!s)
		return NULL;
	int i = 0;
	list_for_each_entry (v, &mm->vmas, vm_node) {
		s[i] = (struct vma_snap){ v->vm_start, v->vm_end, v->vm_pgoff, v->vm_flags,
					  v->vm_file };
		if (v->vm_file)
			mapped_file_get(v->vm_file);
		i++;
	}
	*nr = n;
	return s;
}

static void put_snap(struct vma_snap *s, int nr)
{
	for (int i = 0; s && i < nr; i++)
		if (s[i].file)
			mapped_file_put(s[i].file);
	kfree(s);
}

/* show_vma_header_prefix: "start-end perms offset major:minor inode " */
static void vma_header(struct sbuf *b, uint64_t start, uint64_t end, unsigned long flags,
		       uint64_t off, unsigned major, unsigned minor, uint64_t ino)
{
	sb_printf(b, "%08lx-%08lx %c%c%c%c %08lx %02x:%02x %lu ", start, end,
		  flags & VM_READ ? 'r' : '-', flags & VM_WRITE ? 'w' : '-',
		  flags & VM_EXEC ? 'x' : '-', flags & VM_SHARED ? 's' : 'p', off, major, minor,
		  ino);
}

#define MAPS_NAME_COL 73 /* seq_setwidth(25 + 6 * sizeof(void *) - 1), then seq_pad's ' ' */

static int gen_maps(struct mm *mm, struct sbuf *b)
{
	down_read(&mm->mmap_lock);
	int nr = 0;
	struct vma_snap *s = snapshot_vmas(mm, &nr);
	uint64_t start_brk = mm->start_brk, brk = mm->brk, start_stack = mm->start_stack;
	up_read(&mm->mmap_lock);
	if (!s)
		return -ENOMEM;
	char *name = kmalloc(PATH_MAX);
	if (!name) {
		put_snap(s, nr);
		return -ENOMEM;
	}
	for (int i = 0; i < nr; i++) {
		size_t line = b->len;
		const struct vma_snap *v = &s[i];
		const char *nm = NULL;
		if (v->file) {
			bool shm = is_shmem_inode(v->file);
#ifndef MUTATION_MAPS_PGOFF_IN_PAGES
			uint64_t off = v->pgoff << PAGE_SHIFT; /* bytes, as Linux */
#else
			uint64_t off = v->pgoff; /* the file page number */
#endif
			vma_header(b, v->start, v->end, v->flags, off, shm ? 0 : 8, 1,
				   v->file->ino);
			inode_name(v->file, name);
			nm = name;
		} else {
			vma_header(b, v->start, v->end, v->flags, 0, 0, 0, 0);
			if (v->start <= brk && v->end >= start_brk)
				nm = "[heap]";
			else if (v->start <= start_stack && v->end >= start_stack)
				nm = "[stack]";
		}
		if (nm) {
			sb_pad_to(b, line, MAPS_NAME_COL);
			sb_puts(b, nm);
		}
		sb_puts(b, "\n");
	}
	kfree(name);
	put_snap(s, nr);
	return b->oom ? -ENOMEM : 0;
}

/* The page a present (or PROT_NONE) user PTE maps, or NULL (special). */
static struct page *pte_page(pte_t pte)
{
	if (pte_special(pte))
		return NULL;
	uint64_t pfn = pte_phys(pte) >> PAGE_SHIFT;
	return pfn < max_pfn ? pfn_to_page(pfn) : NULL;
}

struct mem_stats {
	uint64_t resident, anon, file, shmem;	     /* bytes */
	uint64_t pss, pss_anon, pss_file, pss_shmem; /* bytes << 12 */
	uint64_t shared_clean, shared_dirty, private_clean, private_dirty, referenced;
	uint64_t total_vm, data_vm, stack_vm, exec_vm;
	uint64_t first, last;
};

#define PSS_SHIFT 12

/* Walk every VMA of mm (mmap_lock and page_table_lock held by the caller
 * for the page-table part). */
static void gather_stats(struct mm *mm, struct mem_stats *ms)
{
	struct vm_area_struct *v;
	bool first = true;
	list_for_each_entry (v, &mm->vmas, vm_node) {
		uint64_t sz = v->vm_end - v->vm_start;
		if (first)
			ms->first = v->vm_start;
		first = false;
		ms->last = v->vm_end;
		ms->total_vm += sz;
		bool stack =
		    !v->vm_file && v->vm_start <= mm->start_stack && v->vm_end >= mm->start_stack;
		if (stack)
			ms->stack_vm += sz;
		else if ((v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
			ms->data_vm += sz;
		else if ((v->vm_flags & (VM_EXEC | VM_WRITE)) == VM_EXEC)
			ms->exec_vm += sz;
		bool shm = v->vm_file && is_shmem_inode(v->vm_file);
		spin_lock(&mm->page_table_lock);
		for (uint64_t a = v->vm_start; a < v->vm_end; a += PAGE_SIZE) {
			pte_t *ptep = walk_pte(mm, a);
			pte_t pte = ptep ? READ_ONCE(*ptep) : 0;
			if (!pte_mapped(pte))
				continue;
			struct page *pg = pte_page(pte);
			ms->resident += PAGE_SIZE;
			if (!pg)
				continue;
			bool anon = PageAnon(pg);
			if (anon)
				ms->anon += PAGE_SIZE;
			else if (shm)
				ms->shmem += PAGE_SIZE;
			else
				ms->file += PAGE_SIZE;
			int mc = page_mapcount(pg);
			uint64_t pss = (uint64_t)PAGE_SIZE << PSS_SHIFT;
#ifndef MUTATION_SMAPS_PSS_NOT_SHARED
			if (mc >= 2) /* a page mapped by mc mms counts 1/mc in each */
				pss /= (uint64_t)mc;
#endif
			ms->pss += pss;
			if (anon)
				ms->pss_anon += pss;
			else if (shm)
				ms->pss_shmem += pss;
			else
				ms->pss_file += pss;
			bool dirty = pte_dirty(pte) || (pg->flags & PG_dirty);
			if (mc >= 2)
				*(dirty ? &ms->shared_dirty : &ms->shared_clean) += PAGE_SIZE;
			else
				*(dirty ? &ms->private_dirty : &ms->private_clean) += PAGE_SIZE;
			if (pte & _PAGE_ACCESSED)
				ms->referenced += PAGE_SIZE;
		}
		spin_unlock(&mm->page_table_lock);
	}
}

/* seq_put_decimal_ull_width(m, label, val >> 10, 8) then " kB\n" */
static void kb_line(struct sbuf *b, const char *label, uint64_t bytes)
{
	sb_printf(b, "%s%8lu kB\n", label, bytes >> 10);
}

static int gen_smaps_rollup(struct mm *mm, struct sbuf *b)
{
	struct mem_stats ms = { 0 };
	down_read(&mm->mmap_lock);
	gather_stats(mm, &ms);
	up_read(&mm->mmap_lock);
	size_t line = b->len;
	vma_header(b, ms.first, ms.last, 0, 0, 0, 0, 0);
	sb_pad_to(b, line, MAPS_NAME_COL);
	sb_puts(b, "[rollup]\n");
	kb_line(b, "Rss:            ", ms.resident);
	kb_line(b, "Pss:            ", ms.pss >> PSS_SHIFT);
	kb_line(b, "Pss_Anon:       ", ms.pss_anon >> PSS_SHIFT);
	kb_line(b, "Pss_File:       ", ms.pss_file >> PSS_SHIFT);
	kb_line(b, "Pss_Shmem:      ", ms.pss_shmem >> PSS_SHIFT);
	kb_line(b, "Shared_Clean:   ", ms.shared_clean);
	kb_line(b, "Shared_Dirty:   ", ms.shared_dirty);
	kb_line(b, "Private_Clean:  ", ms.private_clean);
	kb_line(b, "Private_Dirty:  ", ms.private_dirty);
	kb_line(b, "Referenced:     ", ms.referenced);
	kb_line(b, "Anonymous:      ", ms.anon);
	kb_line(b, "LazyFree:       ", 0);
	kb_line(b, "AnonHugePages:  ", 0);
	kb_line(b, "ShmemPmdMapped: ", 0);
	kb_line(b, "FilePmdMapped:  ", 0);
	kb_line(b, "Shared_Hugetlb: ", 0);
	sb_printf(b, "Private_Hugetlb: %7u kB\n", 0u);
	kb_line(b, "Swap:           ", 0);
	kb_line(b, "SwapPss:        ", 0);
	kb_line(b, "Locked:         ", 0);
	return b->oom ? -ENOMEM : 0;
}

/* ---- status and cmdline --------------------------------------------------- */

static int gen_status(int pid, struct sbuf *b)
{
	bool found;
	struct mm *mm = proc_mm_grab(pid, &found);
	char name[24] = "";
	int tgid = 0, ppid = 0, threads = 0, pgid = 0, sid = 0;
	char state = 'S';
	cpumask_t allowed;
	cpumask_online(&allowed);
	const char *state_name = "sleeping";
	spin_lock(&tasklist_lock);
	struct process *p = proc_find(pid);
	if (p) {
		struct thread *t = p->leader;
		if (!t && !list_empty(&p->threads))
			t = list_first_entry(&p->threads, struct thread, group_node);
		if (t) {
			memcpy(name, t->name, sizeof(name));
			allowed = t->cpus_allowed;
		}
		name[sizeof(name) - 1] = 0;
		tgid = p->pid;
		ppid = p->parent ? p->parent->pid : 0;
		threads = p->nr_threads;
		pgid = p->pgid;
		sid = p->sid;
		if (p->state == PROC_ZOMBIE) {
			state = 'Z';
			state_name = "zombie";
		} else if (p->signal_flags & SIGNAL_STOP_STOPPED) {
			state = 'T';
			state_name = "stopped";
		} else if (t &&
			   (READ_ONCE(t->on_cpu) || (t->state == THREAD_RUNNING && t->on_rq))) {
			state = 'R';
			state_name = "running";
		}
	}
	spin_unlock(&tasklist_lock);
	if (!p) {
		if (mm)
			mmdrop(mm);
		return -ESRCH;
	}
	name[15] = 0; /* TASK_COMM_LEN */
	sb_printf(b, "Name:\t%s\nUmask:\t0022\nState:\t%c (%s)\n", name, state, state_name);
	sb_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", tgid, pid, ppid);
	sb_puts(b, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \n");
	sb_printf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", tgid, pid, pgid, sid);
	if (mm && mmget_not_zero(mm)) {
		struct mem_stats ms = { 0 };
		down_read(&mm->mmap_lock);
		gather_stats(mm, &ms);
		uint64_t pt = (uint64_t)atomic64_read(&mm->nr_pt_pages) * PAGE_SIZE;
		up_read(&mm->mmap_lock);
		mmput(mm);
		/* no high-water marks are kept: VmPeak is VmSize, VmHWM VmRSS */
		sb_printf(b, "VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\n", ms.total_vm >> 10,
			  ms.total_vm >> 10);
		sb_printf(b, "VmLck:\t%8lu kB\nVmPin:\t%8lu kB\n", 0ul, 0ul);
		sb_printf(b, "VmHWM:\t%8lu kB\nVmRSS:\t%8lu kB\n", ms.resident >> 10,
			  ms.resident >> 10);
		sb_printf(b, "RssAnon:\t%8lu kB\nRssFile:\t%8lu kB\nRssShmem:\t%8lu kB\n",
			  ms.anon >> 10, ms.file >> 10, ms.shmem >> 10);
		sb_printf(b, "VmData:\t%8lu kB\nVmStk:\t%8lu kB\nVmExe:\t%8lu kB\n",
			  ms.data_vm >> 10, ms.stack_vm >> 10, ms.exec_vm >> 10);
		sb_printf(b, "VmLib:\t%8lu kB\nVmPTE:\t%8lu kB\nVmSwap:\t%8lu kB\n", 0ul, pt >> 10,
			  0ul);
		sb_printf(b, "HugetlbPages:\t%8lu kB\n", 0ul);
	}
	if (mm)
		mmdrop(mm);
	sb_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t%d\n", threads);
	cpumask_t online;
	cpumask_online(&online);
	sb_puts(b, "Cpus_allowed:\t");
	uint64_t bits = allowed.bits[0] & online.bits[0]; /* the first 64 CPUs */
	sb_printf(b, "%lx\nCpus_allowed_list:\t", bits);
	int first = -1;
	bool comma = false;
	for (int c = 0; c <= 64; c++) {
		bool in = c < 64 && ((bits >> c) & 1);
		if (in && first < 0)
			first = c;
		if (!in && first >= 0) {
			if (c - 1 > first)
				sb_printf(b, "%s%d-%d", comma ? "," : "", first, c - 1);
			else
				sb_printf(b, "%s%d", comma ? "," : "", first);
			comma = true;
			first = -1;
		}
	}
	sb_puts(b, "\n");
	return b->oom ? -ENOMEM : 0;
}

/* Copy [addr, addr + len) of mm to kbuf by its page tables (Linux's
 * access_remote_vm; a page not there reads as zeros: anonymous memory
 * that was never touched or was dropped). mmap_lock held. */
static void read_remote(struct mm *mm, uint64_t addr, char *kbuf, size_t len)
{
	while (len) {
		size_t off = addr & (PAGE_SIZE - 1), n = MIN(len, PAGE_SIZE - off);
		spin_lock(&mm->page_table_lock);
		pte_t *ptep = walk_pte(mm, addr);
		pte_t pte = ptep ? READ_ONCE(*ptep) : 0;
		struct page *pg = pte_present(pte) ? pte_page(pte) : NULL;
		if (pg)
			memcpy(kbuf, (char *)page_address(pg) + off, n);
		else
			memset(kbuf, 0, n);
		spin_unlock(&mm->page_table_lock);
		kbuf += n;
		addr += n;
		len -= n;
	}
}

#define CMDLINE_MAX (128u * 1024) /* argv may be longer on Linux; we cut there */

static int gen_cmdline(int pid, struct sbuf *b)
{
	bool found;
	struct mm *mm = proc_mm_grab(pid, &found);
	if (!found)
		return -ESRCH;
	if (!mm)
		return 0; /* a zombie: no mm, nothing (get_mm_cmdline) */
	int err = 0;
	if (mmget_not_zero(mm)) {
		down_read(&mm->mmap_lock);
		uint64_t s = mm->arg_start, e = mm->arg_end;
		size_t len = e > s ? MIN(e - s, CMDLINE_MAX) : 0;
		sb_grow(b, len);
		if (b->oom) {
			err = -ENOMEM;
		} else if (len) {
			read_remote(mm, s, b->p + b->len, len);
			b->len += len;
			b->p[b->len] = 0;
		}
		up_read(&mm->mmap_lock);
		mmput(mm);
	}
	mmdrop(mm);
	return err;
}

/* ---- vmstat and interrupts ------------------------------------------------ */

static const struct {
	const char *linux_name;
	enum event ev;
} vm_events[] = {
	/* in Linux's vmstat_text order */
	{ "nr_written", EV_WRITEBACK_PAGES },
	{ "pgfree", EV_PAGE_FREE },
	{ "pgfault", EV_PAGE_FAULT },
	{ "nr_tlb_remote_flush", EV_TLB_SHOOTDOWN },
	{ "nr_tlb_remote_flush_received", EV_TLB_IPI_RECEIVED },
	{ "nr_tlb_local_flush_all", EV_TLB_LOCAL_FLUSH_ALL },
	{ "nr_tlb_local_flush_one", EV_TLB_LOCAL_FLUSH_ONE },
};

static int gen_vmstat(struct sbuf *b)
{
	sb_printf(b, "nr_free_pages %lu\n", nr_free_pages());
	for (size_t i = 0; i < ARRAY_SIZE(vm_events); i++) {
		sb_printf(b, "%s %lu\n", vm_events[i].linux_name, event_sum(vm_events[i].ev));
		if (!strcmp(vm_events[i].linux_name, "pgfault"))
			sb_puts(b, "pgmajfault 0\n"); /* a RAM disk: no fault waits for I/O */
	}
	/* The kernel's other counters, under its own names. */
	for (int e = 0; e < NR_EVENTS; e++) {
		bool mapped = false;
		for (size_t i = 0; i < ARRAY_SIZE(vm_events); i++)
			mapped |= vm_events[i].ev == (enum event)e;
		if (!mapped)
			sb_printf(b, "%s %lu\n", event_names[e], event_sum((enum event)e));
	}
	return b->oom ? -ENOMEM : 0;
}

/* arch/x86/kernel/irq.c's arch_show_interrupts: "%*s: " with prec 3, then
 * "%10u " per online CPU, then "  " and the label. */
static void irq_row(struct sbuf *b, const char *name, const char *label, enum event ev,
		    enum event minus)
{
	sb_printf(b, "%3s: ", name);
	for_each_online_cpu (c) {
		uint64_t v = event_cpu(c, ev);
		if (minus != NR_EVENTS) {
			uint64_t m = event_cpu(c, minus);
			v = v > m ? v - m : 0;
		}
		sb_printf(b, "%10u ", (unsigned)v);
	}
	sb_printf(b, "  %s\n", label);
}

static int gen_interrupts(struct sbuf *b)
{
	sb_printf(b, "%11s", "");
	for_each_online_cpu (c)
		sb_printf(b, "CPU%-8d", c);
	sb_puts(b, "\n");
	irq_row(b, "LOC", "Local timer interrupts", EV_TIMER_TICK, NR_EVENTS);
	/* Linux: irq_call_count less the TLB shootdowns (which come as calls) */
	irq_row(b, "CAL", "Function call interrupts", EV_CALL_FUNCTION, EV_TLB_IPI_RECEIVED);
	irq_row(b, "TLB", "TLB shootdowns", EV_TLB_IPI_RECEIVED, NR_EVENTS);
	return b->oom ? -ENOMEM : 0;
}

/* An open /proc file or directory (kfile->private_data). */
struct proc_file {
	struct mm *mm; /* maps, smaps_rollup, pagemap: mmgrab'd at open, or NULL */
	struct proc_node node;
	struct rwsem lock; /* the text below */
	struct sbuf text;
	bool have;
};

/* ---- pagemap ---------------------------------------------------------------- */

#define PM_ENTRY_BYTES	  8
#define PM_PFRAME_MASK	  ((1ull << 55) - 1)
#define PM_SOFT_DIRTY	  (1ull << 55)
#define PM_MMAP_EXCLUSIVE (1ull << 56)
#define PM_FILE		  (1ull << 61)
#define PM_SWAP		  (1ull << 62)
#define PM_PRESENT	  (1ull << 63)
#define PAGEMAP_BATCH	  512
#define PAGEMAP_END	  (USER_SPACE_END - PAGE_SIZE) /* Linux's TASK_SIZE_MAX */

/* The entry for addr (a page of VMA v). page_table_lock held. */
static uint64_t pagemap_entry(struct mm *mm, uint64_t addr)
{
	pte_t *ptep = walk_pte(mm, addr);
	pte_t pte = ptep ? READ_ONCE(*ptep) : 0;
#ifndef MUTATION_PAGEMAP_PROTNONE_NOT_PRESENT
	if (!pte_mapped(pte)) /* a PROT_NONE page is present: pte_present on Linux */
#else
	if (!pte_present(pte))
#endif
		return 0;
	uint64_t e = PM_PRESENT | ((pte_phys(pte) >> PAGE_SHIFT) & PM_PFRAME_MASK);
	struct page *pg = pte_page(pte);
	if (pg) {
		if (!PageAnon(pg))
			e |= PM_FILE;
#ifdef MUTATION_PAGEMAP_EXCLUSIVE_BY_COUNT
		if (page_count(pg) == 1) /* references are not mappings */
#else
		if (page_mapcount(pg) == 1)
#endif
			e |= PM_MMAP_EXCLUSIVE;
	}
	return e;
}

static ssize_t pagemap_read(struct kfile *f, uint64_t ubuf, size_t count, uint64_t *ppos)
{
	struct mm *mm = ((struct proc_file *)f->private_data)->mm;
	if (!mm || !mmget_not_zero(mm))
		return 0; /* Linux: ret = 0 when the mm is gone */
#ifndef MUTATION_PAGEMAP_UNALIGNED_OK
	if ((*ppos % PM_ENTRY_BYTES) || (count % PM_ENTRY_BYTES)) {
		mmput(mm);
		return -EINVAL;
	}
#endif
	uint64_t *buf = count ? kmalloc(PAGEMAP_BATCH * PM_ENTRY_BYTES) : NULL;
	if (count && !buf) {
		mmput(mm);
		return -ENOMEM;
	}
	uint64_t svpfn = *ppos / PM_ENTRY_BYTES;
	uint64_t addr = svpfn > (PAGEMAP_END >> PAGE_SHIFT) ? PAGEMAP_END : svpfn << PAGE_SHIFT;
	size_t copied = 0;
	ssize_t ret = 0;
	while (count - copied >= PM_ENTRY_BYTES && addr < PAGEMAP_END) {
		size_t n = MIN((count - copied) / PM_ENTRY_BYTES, (size_t)PAGEMAP_BATCH);
		n = MIN(n, (size_t)((PAGEMAP_END - addr) >> PAGE_SHIFT));
		down_read(&mm->mmap_lock);
		for (size_t i = 0; i < n;) {
			uint64_t a = addr + i * PAGE_SIZE;
			/* the VMA is looked up again for every batch: it may be gone */
			struct vm_area_struct *v = find_vma(mm, a);
			uint64_t hole_end = v ? v->vm_start : PAGEMAP_END;
			if (!v || a < v->vm_start) {
				for (; i < n && addr + i * PAGE_SIZE < hole_end; i++)
					buf[i] = 0;
				continue;
			}
			spin_lock(&mm->page_table_lock);
			for (; i < n && addr + i * PAGE_SIZE < v->vm_end; i++)
				buf[i] = pagemap_entry(mm, addr + i * PAGE_SIZE);
			spin_unlock(&mm->page_table_lock);
#ifdef MUTATION_PAGEMAP_VMA_ONCE
			/* the VMA is not looked up again: the rest of the batch is a hole */
			for (; i < n; i++)
				buf[i] = 0;
#endif
		}
		up_read(&mm->mmap_lock);
		if (copy_to_user(ubuf + copied, buf, n * PM_ENTRY_BYTES)) {
			ret = -EFAULT;
			break;
		}
		copied += n * PM_ENTRY_BYTES;
		addr += n * PAGE_SIZE;
	}
	kfree(buf);
	mmput(mm);
	*ppos += copied;
	return ret < 0 ? ret : (ssize_t)copied; /* Linux: -EFAULT even after a part */
}

static int64_t pagemap_llseek(struct kfile *f, int64_t off, int whence)
{
	/* mem_lseek: SEEK_SET and SEEK_CUR, any offset */
	if (whence == SEEK_SET)
		f->f_pos = (uint64_t)off;
	else if (whence == SEEK_CUR)
		f->f_pos += (uint64_t)off;
	else
		return -EINVAL;
	return (int64_t)f->f_pos;
}

/* ---- /proc/PID/stat, statm and fd ------------------------------------------ */

#define USER_HZ 100 /* clock ticks of the ABI (sysconf(_SC_CLK_TCK)) */

static uint64_t ns_to_clock_t(uint64_t ns)
{
	return ns / (1000000000ull / USER_HZ);
}

/* Linux's task_state letter of p (tasklist_lock held). */
static char proc_state(struct process *p, struct thread *t)
{
	if (p->state == PROC_ZOMBIE)
		return 'Z';
	if (p->signal_flags & SIGNAL_STOP_STOPPED)
		return 'T';
	if (t && (READ_ONCE(t->on_cpu) || (t->state == THREAD_RUNNING && t->on_rq)))
		return 'R';
	return 'S';
}

/* The thread that speaks for p: its leader, or the first one left. */
static struct thread *proc_main_thread(struct process *p)
{
	struct thread *t = p->leader;
	if (!t && !list_empty(&p->threads))
		t = list_first_entry(&p->threads, struct thread, group_node);
	return t;
}

struct code_range {
	uint64_t start, end;
};

/* The first executable file VMA (Linux's start_code/end_code: the
 * program's text); mmap_lock held. */
static struct code_range code_of(struct mm *mm)
{
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node)
		if ((v->vm_flags & VM_EXEC) && v->vm_file)
			return (struct code_range){ v->vm_start, v->vm_end };
	return (struct code_range){ 0, 0 };
}

static int gen_pid_stat(int pid, struct sbuf *b)
{
	bool found;
	struct mm *mm = proc_mm_grab(pid, &found);
	char name[24] = "";
	int ppid = 0, pgid = 0, sid = 0, threads = 0, cpu = 0, exit_signal = 0, tgid = 0;
	char state = 'S';
	uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0, start_ns = 0, blocked = 0;
	uint64_t min_flt = 0, maj_flt = 0, cmin_flt = 0, cmaj_flt = 0;
	spin_lock(&tasklist_lock);
	struct process *p = proc_find(pid);
	if (p) {
		struct thread *t = proc_main_thread(p);
		if (t) {
			memcpy(name, t->name, sizeof(name));
			start_ns = t->start_ns;
			cpu = t->cpu;
			memcpy(&blocked, &t->sig.blocked, sizeof(blocked));
		}
		tgid = p->pid;
		ppid = p->parent ? p->parent->pid : 0;
		pgid = p->pgid;
		sid = p->sid;
		threads = p->nr_threads;
		exit_signal = p->exit_signal;
		state = proc_state(p, t);
		process_times(p, &utime, &stime, &min_flt, &maj_flt);
		cutime = p->cutime_ns;
		cstime = p->cstime_ns;
		cmin_flt = p->cmin_flt;
		cmaj_flt = p->cmaj_flt;
#ifdef MUTATION_PROC_STAT_STIME_ZERO
		utime += stime;
		stime = 0;
#endif
	}
	spin_unlock(&tasklist_lock);
	if (!p) {
		if (mm)
			mmdrop(mm);
		return -ESRCH;
	}
	name[15] = 0; /* TASK_COMM_LEN */
	struct mem_stats ms = { 0 };
	struct code_range code = { 0, 0 };
	uint64_t start_stack = 0, start_brk = 0, arg_start = 0, arg_end = 0, env_start = 0,
		 env_end = 0, data_start = 0, data_end = 0;
	if (mm && mmget_not_zero(mm)) {
		down_read(&mm->mmap_lock);
		gather_stats(mm, &ms);
		code = code_of(mm);
		start_stack = mm->start_stack;
		start_brk = mm->start_brk;
		arg_start = mm->arg_start;
		arg_end = mm->arg_end;
		env_start = mm->env_start;
		env_end = mm->env_end;
		struct vm_area_struct *v;
		list_for_each_entry (v, &mm->vmas, vm_node)
			if (v->vm_file && code.end && v->vm_start >= code.end &&
			    (v->vm_flags & VM_WRITE)) {
				data_start = v->vm_start; /* the program's .data */
				data_end = v->vm_end;
				break;
			}
		up_read(&mm->mmap_lock);
		mmput(mm);
	}
	if (mm)
		mmdrop(mm);
	/* The console tty, when it is the session's controlling tty: /dev/ttyS0
	 * (4:64) as Linux's new_encode_dev, and its foreground group. */
	int tty_nr = 0, tpgid = -1, fg;
#ifndef MUTATION_TTY_NR_NOT_REPORTED
	if (tgid && tty_session_pgrp(sid, &fg)) {
#else
	if (tgid && tty_session_pgrp(sid, &fg) && false) {
#endif
		unsigned major = 4, minor = 64;
		tty_nr = (int)((minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12));
		tpgid = fg;
	}
	/* fs/proc/array.c do_task_stat, field for field (52) */
	sb_printf(b, "%d (%s) %c %d %d %d %d %d %u ", tgid, name, state, ppid, pgid, sid, tty_nr,
		  tpgid, 0x400000u /* PF_RANDOMIZE */);
	sb_printf(b, "%lu %lu %lu %lu %lu %lu %ld %ld %ld %ld %d 0 ", min_flt, cmin_flt, maj_flt,
		  cmaj_flt, ns_to_clock_t(utime), ns_to_clock_t(stime),
		  (int64_t)ns_to_clock_t(cutime), (int64_t)ns_to_clock_t(cstime),
		  20l /* priority: nice 0 */, 0l, threads);
#ifndef MUTATION_PROC_STAT_RSS_BYTES
	uint64_t rss_pages = ms.resident / PAGE_SIZE;
#else
	uint64_t rss_pages = ms.resident;
#endif
	sb_printf(b, "%lu %lu %lu %lu ", ns_to_clock_t(start_ns), ms.total_vm, rss_pages,
		  ~0ul /* rsslim: RLIM_INFINITY */);
	sb_printf(b, "%lu %lu %lu 0 0 0 %lu 0 0 0 0 0 %d %d 0 0 0 0 0 ", code.start, code.end,
		  start_stack, (uint64_t)(blocked & 0x7fffffffffffffffull), exit_signal, cpu);
	sb_printf(b, "%lu %lu %lu %lu %lu %lu %lu %d\n", data_start, data_end, start_brk, arg_start,
		  arg_end, env_start, env_end, 0);
	return b->oom ? -ENOMEM : 0;
}

static int gen_statm(int pid, struct sbuf *b)
{
	bool found;
	struct mm *mm = proc_mm_grab(pid, &found);
	if (!found) {
		if (mm)
			mmdrop(mm);
		return -ESRCH;
	}
	struct mem_stats ms = { 0 };
	if (mm && mmget_not_zero(mm)) {
		down_read(&mm->mmap_lock);
		gather_stats(mm, &ms);
		up_read(&mm->mmap_lock);
		mmput(mm);
	}
	if (mm)
		mmdrop(mm);
		/* task_statm: size resident shared text lib data dt, in pages */
#ifndef MUTATION_PROC_STATM_RSS_ANON_ONLY
	uint64_t resident = ms.resident;
#else
	uint64_t resident = ms.anon;
#endif
	sb_printf(b, "%lu %lu %lu %lu 0 %lu 0\n", ms.total_vm / PAGE_SIZE, resident / PAGE_SIZE,
		  (ms.file + ms.shmem) / PAGE_SIZE, ms.exec_vm / PAGE_SIZE,
		  (ms.data_vm + ms.stack_vm) / PAGE_SIZE);
	return b->oom ? -ENOMEM : 0;
}

/* A reference to the fd table of pid's process (get_files), or NULL; see
 * the top: a thread not exiting keeps its table while tasklist_lock is
 * held. */
static struct files_struct *proc_files_get(int pid)
{
	struct files_struct *files = NULL;
	spin_lock(&tasklist_lock);
	struct process *p = proc_find(pid);
	struct thread *t;
	if (p && p->state == PROC_ALIVE)
		list_for_each_entry (t, &p->threads, group_node) {
			if (READ_ONCE(t->sig.exiting) || !READ_ONCE(t->files))
				continue;
			files = t->files;
			get_files(files);
			break;
		}
	spin_unlock(&tasklist_lock);
	return files;
}

/* The open file fd of pid, with a reference (kfile_put it), or NULL. */
static struct kfile *proc_fget(int pid, int fd)
{
	struct files_struct *files = proc_files_get(pid);
	if (!files)
		return NULL;
	struct kfile *f = fget(files, fd);
	put_files(files);
	return f;
}

/* What readlink of /proc/PID/fd/N shows for f (Linux's d_path, or the
 * pseudo names of pipes and anonymous files). */
static void kfile_link_name(struct kfile *f, char *buf)
{
#ifndef MUTATION_PROC_FD_PIPE_NAME
	if (f->type == KFILE_PIPE && f->pipe)
		snprintf(buf, PATH_MAX, "pipe:[%lu]", f->pipe->ino);
#else
	if (f->type == KFILE_PIPE && f->pipe)
		strlcpy(buf, "pipe:[0]", PATH_MAX);
#endif
	else if (f->path)
		strlcpy(buf, f->path, PATH_MAX);
	else if (f->type == KFILE_CONSOLE)
		strlcpy(buf, "/dev/console", PATH_MAX);
	else
		strlcpy(buf, "anon_inode:[unknown]", PATH_MAX);
}

/* The first open fd >= from of pid (-1: none). */
static int next_fd_from(int pid, int from)
{
	struct files_struct *files = proc_files_get(pid);
	if (!files)
		return -1;
	int found = -1;
	spin_lock(&files->lock);
	for (unsigned fd = (unsigned)from; fd < files->max_fds; fd++)
		if (files->fd[fd]) {
			found = (int)fd;
			break;
		}
	spin_unlock(&files->lock);
	put_files(files);
	return found;
}

/* ---- meminfo, cpuinfo, stat, uptime, loadavg, mounts ------------------------- */

/* The address_space_ops of shmem files (mm/shmem.c keeps them static):
 * taken once from a shmem inode made for the purpose. */
static const void *shmem_aops_ptr;

static void find_shmem_aops(void)
{
	if (READ_ONCE(shmem_aops_ptr))
		return;
	struct inode *i = shmem_file_setup(0);
	if (!i)
		return;
	WRITE_ONCE(shmem_aops_ptr, i->mapping.a_ops);
	mapped_file_put(i);
}

void proc_meminfo_counts(struct meminfo_counts *mc)
{
	memset(mc, 0, sizeof(*mc));
	find_shmem_aops();
	mc->total = nr_total_pages();
	mc->free = nr_free_pages();
	/* One racy pass over mem_map, as a statistics snapshot: each page is
	 * read once (flags, count, mapping); the address_space a page-cache
	 * page points to is kmalloc memory, which stays mapped, so reading
	 * its a_ops is safe even if the page is being dropped meanwhile. */
	for (uint64_t pfn = 0; pfn < max_pfn; pfn++) {
		struct page *pg = pfn_to_page(pfn);
		uint32_t flags = READ_ONCE(pg->flags);
		if (flags & (PG_reserved | PG_buddy | PG_pcp) || atomic_read(&pg->_refcount) <= 0)
			continue;
		if (flags & PG_slab)
			continue;
		if (flags & PG_pagetable) {
			mc->pagetables++;
			continue;
		}
		if (flags & PG_anon) {
			mc->anon++;
			continue;
		}
		struct address_space *m = READ_ONCE(pg->mapping);
		if (!m)
			continue;
		mc->cached++;
		if (page_mapcount(pg) > 0)
			mc->mapped++;
		if (READ_ONCE(m->a_ops) == shmem_aops_ptr)
			mc->shmem++;
		else if (flags & PG_dirty)
			mc->dirty++;
	}
	mc->slab = kmalloc_slab_pages();
	uint64_t reclaimable = mc->cached > mc->shmem ? mc->cached - mc->shmem - mc->dirty : 0;
	mc->available = mc->free + reclaimable;
}

static void meminfo_line(struct sbuf *b, const char *label, uint64_t pages)
{
	size_t start = b->len;
	sb_printf(b, "%s:", label);
	sb_pad_to(b, start, 16);
	sb_printf(b, "%8lu kB\n", pages * (PAGE_SIZE / 1024));
}

static int gen_meminfo(struct sbuf *b)
{
	struct meminfo_counts mc;
	proc_meminfo_counts(&mc);
#ifdef MUTATION_MEMINFO_FREE_IS_TOTAL
	mc.free = mc.total;
#endif
	/* fs/proc/meminfo.c's order; what is not kept here is 0 */
	meminfo_line(b, "MemTotal", mc.total);
	meminfo_line(b, "MemFree", mc.free);
	meminfo_line(b, "MemAvailable", mc.available);
	meminfo_line(b, "Buffers", 0);
	meminfo_line(b, "Cached", mc.cached);
	meminfo_line(b, "SwapCached", 0);
	meminfo_line(b, "Active", mc.anon + mc.cached);
	meminfo_line(b, "Inactive", 0);
	meminfo_line(b, "Active(anon)", mc.anon + mc.shmem);
	meminfo_line(b, "Inactive(anon)", 0);
	meminfo_line(b, "Active(file)", mc.cached - mc.shmem);
	meminfo_line(b, "Inactive(file)", 0);
	meminfo_line(b, "Unevictable", 0);
	meminfo_line(b, "Mlocked", 0);
	meminfo_line(b, "SwapTotal", 0);
	meminfo_line(b, "SwapFree", 0);
	meminfo_line(b, "Zswap", 0);
	meminfo_line(b, "Zswapped", 0);
	meminfo_line(b, "Dirty", mc.dirty);
	meminfo_line(b, "Writeback", 0);
	meminfo_line(b, "AnonPages", mc.anon);
	meminfo_line(b, "Mapped", mc.mapped);
	meminfo_line(b, "Shmem", mc.shmem);
	meminfo_line(b, "KReclaimable", 0);
	meminfo_line(b, "Slab", mc.slab);
	meminfo_line(b, "SReclaimable", 0);
	meminfo_line(b, "SUnreclaim", mc.slab);
	meminfo_line(b, "KernelStack", 0);
	meminfo_line(b, "PageTables", mc.pagetables);
	meminfo_line(b, "NFS_Unstable", 0);
	meminfo_line(b, "Bounce", 0);
	meminfo_line(b, "WritebackTmp", 0);
	meminfo_line(b, "CommitLimit", mc.total / 2); /* no swap, overcommit_ratio 50 */
	meminfo_line(b, "Committed_AS", mc.anon + mc.shmem);
	sb_printf(b, "VmallocTotal:   %8lu kB\n", 34359738367ul);
	meminfo_line(b, "VmallocUsed", 0);
	meminfo_line(b, "VmallocChunk", 0);
	meminfo_line(b, "Percpu", 0);
	sb_printf(b, "HardwareCorrupted: %5lu kB\n", 0ul);
	meminfo_line(b, "AnonHugePages", 0);
	meminfo_line(b, "ShmemHugePages", 0);
	meminfo_line(b, "ShmemPmdMapped", 0);
	meminfo_line(b, "FileHugePages", 0);
	meminfo_line(b, "FilePmdMapped", 0);
	sb_puts(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
		   "HugePages_Rsvd:        0\nHugePages_Surp:        0\n");
	meminfo_line(b, "Hugepagesize", 512);
	meminfo_line(b, "Hugetlb", 0);
	return b->oom ? -ENOMEM : 0;
}

/* CPUID feature bits under Linux's names (arch/x86/include/asm/cpufeatures.h),
 * in its order: leaf 1 EDX, leaf 1 ECX, 0x80000001 EDX/ECX, leaf 7 EBX. */
struct cpu_flag {
	uint8_t word, bit; /* word: 0 1.EDX, 1 1.ECX, 2 8x1.EDX, 3 8x1.ECX, 4 7.EBX */
	const char *name;
};
static const struct cpu_flag cpu_flags[] = {
	{ 0, 0, "fpu" },
	{ 0, 1, "vme" },
	{ 0, 2, "de" },
	{ 0, 3, "pse" },
	{ 0, 4, "tsc" },
	{ 0, 5, "msr" },
	{ 0, 6, "pae" },
	{ 0, 7, "mce" },
	{ 0, 8, "cx8" },
	{ 0, 9, "apic" },
	{ 0, 11, "sep" },
	{ 0, 12, "mtrr" },
	{ 0, 13, "pge" },
	{ 0, 14, "mca" },
	{ 0, 15, "cmov" },
	{ 0, 16, "pat" },
	{ 0, 17, "pse36" },
	{ 0, 19, "clflush" },
	{ 0, 23, "mmx" },
	{ 0, 24, "fxsr" },
	{ 0, 25, "sse" },
	{ 0, 26, "sse2" },
	{ 0, 27, "ss" },
	{ 0, 28, "ht" },
	{ 2, 11, "syscall" },
	{ 2, 20, "nx" },
	{ 2, 26, "pdpe1gb" },
	{ 2, 27, "rdtscp" },
	{ 2, 29, "lm" },
	{ 1, 0, "pni" },
	{ 1, 1, "pclmulqdq" },
	{ 1, 9, "ssse3" },
	{ 1, 12, "fma" },
	{ 1, 13, "cx16" },
	{ 1, 17, "pcid" },
	{ 1, 19, "sse4_1" },
	{ 1, 20, "sse4_2" },
	{ 1, 21, "x2apic" },
	{ 1, 22, "movbe" },
	{ 1, 23, "popcnt" },
	{ 1, 24, "tsc_deadline_timer" },
	{ 1, 25, "aes" },
	{ 1, 26, "xsave" },
	{ 1, 28, "avx" },
	{ 1, 29, "f16c" },
	{ 1, 30, "rdrand" },
	{ 1, 31, "hypervisor" },
	{ 3, 0, "lahf_lm" },
	{ 3, 5, "abm" },
	{ 3, 6, "sse4a" },
	{ 3, 8, "3dnowprefetch" },
	{ 4, 0, "fsgsbase" },
	{ 4, 3, "bmi1" },
	{ 4, 5, "avx2" },
	{ 4, 7, "smep" },
	{ 4, 8, "bmi2" },
	{ 4, 9, "erms" },
	{ 4, 10, "invpcid" },
	{ 4, 18, "rdseed" },
	{ 4, 19, "adx" },
	{ 4, 20, "smap" },
	{ 4, 23, "clflushopt" },
	{ 4, 24, "clwb" },
	{ 4, 29, "sha_ni" },
};

static int gen_cpuinfo(struct sbuf *b)
{
	uint32_t a, bx, c, d, max_leaf, max_ext;
	char vendor[13];
	cpuid_count(0, 0, &max_leaf, &bx, &c, &d);
	memcpy(vendor, &bx, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	uint32_t words[5] = { 0 };
	cpuid_count(1, 0, &a, &bx, &words[1], &words[0]);
	uint32_t sig = a, clflush = ((bx >> 8) & 0xff) * 8;
	cpuid_count(0x80000000, 0, &max_ext, &bx, &c, &d);
	if (max_ext >= 0x80000001)
		cpuid_count(0x80000001, 0, &a, &bx, &words[3], &words[2]);
	if (max_leaf >= 7)
		cpuid_count(7, 0, &a, &words[4], &c, &d);
	char model_name[49] = "";
	if (max_ext >= 0x80000004) {
		uint32_t *w = (uint32_t *)model_name;
		for (uint32_t l = 0; l < 3; l++)
			cpuid_count(0x80000002 + l, 0, &w[l * 4], &w[l * 4 + 1], &w[l * 4 + 2],
				    &w[l * 4 + 3]);
		model_name[48] = 0;
	}
	char *mn = model_name;
	while (*mn == ' ')
		mn++;
	uint32_t phys_bits = 36, virt_bits = 48;
	if (max_ext >= 0x80000008) {
		cpuid_count(0x80000008, 0, &a, &bx, &c, &d);
		phys_bits = a & 0xff;
		virt_bits = (a >> 8) & 0xff;
	}
	unsigned family = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf;
	if (family == 0xf)
		family += (sig >> 20) & 0xff;
	if (family >= 6)
		model += ((sig >> 16) & 0xf) << 4;
	uint64_t khz = tsc_khz;
	for (int i = 0; i < nr_cpus; i++) {
		if (!cpus[i].online)
			continue;
		sb_printf(b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n",
			  i, vendor, family, model);
		sb_printf(b, "model name\t: %s\nstepping\t: %u\n", *mn ? mn : "unknown", sig & 0xf);
		sb_printf(b, "cpu MHz\t\t: %lu.%03lu\ncache size\t: 0 KB\n", khz / 1000,
			  khz % 1000);
		sb_printf(b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n",
			  nr_cpus_online, i, nr_cpus_online);
		sb_printf(b, "apicid\t\t: %u\ninitial apicid\t: %u\n", cpus[i].apic_id,
			  cpus[i].apic_id);
		sb_printf(b, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n",
			  max_leaf);
		sb_puts(b, "flags\t\t:");
		for (size_t f = 0; f < ARRAY_SIZE(cpu_flags); f++)
			if ((words[cpu_flags[f].word] >> cpu_flags[f].bit) & 1)
				sb_printf(b, " %s", cpu_flags[f].name);
		sb_printf(b, "\nbugs\t\t:\nbogomips\t: %lu.%02lu\n", khz / 500, (khz / 5) % 100);
		sb_printf(b, "clflush size\t: %u\ncache_alignment\t: %u\n", clflush, clflush);
		sb_printf(b, "address sizes\t: %u bits physical, %u bits virtual\n", phys_bits,
			  virt_bits);
		sb_puts(b, "power management:\n\n");
	}
	return b->oom ? -ENOMEM : 0;
}

static void stat_cpu_line(struct sbuf *b, const char *name, uint64_t user, uint64_t system,
			  uint64_t idle)
{
	sb_printf(b, "%s %lu 0 %lu %lu 0 0 0 0 0 0\n", name, ns_to_clock_t(user),
		  ns_to_clock_t(system), ns_to_clock_t(idle));
}

/* Boot time in seconds since the epoch. */
static uint64_t boot_time_s(void)
{
	return (ktime_get_real_ns() - ktime_get_ns()) / 1000000000ull;
}

static int gen_stat_all(struct sbuf *b)
{
	uint64_t now = ktime_get_ns();
	uint64_t user[NR_CPUS], idle[NR_CPUS], sys[NR_CPUS];
	uint64_t tu = 0, ti = 0, ts = 0;
	for (int i = 0; i < nr_cpus; i++) {
		if (!cpus[i].online)
			continue;
		sched_cpu_times(i, &idle[i], &user[i]);
		uint64_t busy = now > idle[i] + user[i] ? now - idle[i] - user[i] : 0;
		sys[i] = busy;
		tu += user[i];
		ti += idle[i];
		ts += sys[i];
	}
	stat_cpu_line(b, "cpu ", tu, ts, ti);
	for (int i = 0; i < nr_cpus; i++) {
		if (!cpus[i].online)
			continue;
		char name[12];
		snprintf(name, sizeof(name), "cpu%d", i);
		stat_cpu_line(b, name, user[i], sys[i], idle[i]);
	}
	uint64_t intr = 0;
	for (int i = 0; i < nr_cpus; i++)
		intr += READ_ONCE(cpus[i].ticks);
	sb_printf(b, "intr %lu\nctxt %lu\nbtime %lu\n", intr, event_sum(EV_CONTEXT_SWITCH),
		  boot_time_s());
	sb_printf(b, "processes %lu\nprocs_running %d\nprocs_blocked 0\n", event_sum(EV_FORK) + 1,
		  sched_nr_running());
	sb_puts(b, "softirq 0 0 0 0 0 0 0 0 0 0 0\n");
	return b->oom ? -ENOMEM : 0;
}

static int gen_uptime(struct sbuf *b)
{
	uint64_t up = ktime_get_ns(), idle = 0;
	for (int i = 0; i < nr_cpus; i++) {
		if (!cpus[i].online)
			continue;
		uint64_t id, us;
		sched_cpu_times(i, &id, &us);
		idle += id;
	}
	/* uptime_proc_show: seconds with two decimals, idle summed over CPUs */
	sb_printf(b, "%lu.%02lu %lu.%02lu\n", (uint64_t)(up / 1000000000ull),
		  (uint64_t)(up / 10000000ull % 100), (uint64_t)(idle / 1000000000ull),
		  (uint64_t)(idle / 10000000ull % 100));
	return b->oom ? -ENOMEM : 0;
}

#define LOAD_INT(x)  ((x) >> LOAD_FSHIFT)
#define LOAD_FRAC(x) LOAD_INT(((x) & (LOAD_FIXED_1 - 1)) * 100)

static int gen_loadavg(struct sbuf *b)
{
	unsigned long l[3];
	sched_loadavg(l);
	int last = 0;
	spin_lock(&tasklist_lock);
	struct process *p;
	list_for_each_entry (p, &all_processes, all_node)
		if (p->pid > last)
			last = p->pid;
	spin_unlock(&tasklist_lock);
	/* l[i] + FIXED_1/200: Linux rounds to two decimals */
	for (int i = 0; i < 3; i++)
		l[i] += LOAD_FIXED_1 / 200;
	sb_printf(b, "%lu.%02lu %lu.%02lu %lu.%02lu %d/%d %d\n", LOAD_INT(l[0]), LOAD_FRAC(l[0]),
		  LOAD_INT(l[1]), LOAD_FRAC(l[1]), LOAD_INT(l[2]), LOAD_FRAC(l[2]),
		  sched_nr_running(), sched_thread_count(), last);
	return b->oom ? -ENOMEM : 0;
}

/*
 * /proc/mounts: the file systems the kernel has, one row each, as Linux's
 * show_vfsmnt ("device mountpoint type options 0 0"). A new mount (a
 * tmpfs on /tmp) is one more row here, with a test of whether it is
 * there. /dev is not listed: statfs(2) does not know it yet (df would
 * fail on it).
 */
static const struct proc_mount {
	const char *dev, *dir, *type, *opts;
	bool (*present)(void);
} proc_mounts[] = {
	{ "/dev/root", "/", "sfs", "rw,relatime", fs_mounted },
	{ "proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime", NULL },
	{ "tmpfs", "/tmp", "tmpfs", "rw,nosuid,nodev,relatime", tmpfs_mounted },
};

static int gen_mounts(struct sbuf *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(proc_mounts); i++) {
		const struct proc_mount *m = &proc_mounts[i];
		if (m->present && !m->present())
			continue;
		sb_printf(b, "%s %s %s %s 0 0\n", m->dev, m->dir, m->type, m->opts);
	}
	return b->oom ? -ENOMEM : 0;
}

/* ---- the kfiles ------------------------------------------------------------- */

static int generate(struct proc_file *pf, struct sbuf *b)
{
	switch (pf->node.kind) {
	case PK_VMSTAT:
		return gen_vmstat(b);
	case PK_INTERRUPTS:
		return gen_interrupts(b);
	case PK_STATUS:
		return gen_status(pf->node.pid, b);
	case PK_CMDLINE:
		return gen_cmdline(pf->node.pid, b);
	case PK_STAT:
		return gen_pid_stat(pf->node.pid, b);
	case PK_STATM:
		return gen_statm(pf->node.pid, b);
	case PK_MEMINFO:
		return gen_meminfo(b);
	case PK_CPUINFO:
		return gen_cpuinfo(b);
	case PK_STAT_ALL:
		return gen_stat_all(b);
	case PK_UPTIME:
		return gen_uptime(b);
	case PK_LOADAVG:
		return gen_loadavg(b);
	case PK_MOUNTS:
		return gen_mounts(b);
	case PK_MAPS:
	case PK_SMAPS_ROLLUP: {
		if (!pid_exists(pf->node.pid))
			return -ESRCH; /* m_start: get_proc_task failed */
		struct mm *mm = pf->mm;
		if (!mm || !mmget_not_zero(mm))
			return 0; /* the address space is gone: nothing to show */
		int r = pf->node.kind == PK_MAPS ? gen_maps(mm, b) : gen_smaps_rollup(mm, b);
		mmput(mm);
		return r;
	}
	default:
		return -EINVAL;
	}
}

/* seq_file-like: the text is made at a read from position 0 (or the first
 * read), and later reads go on in it. */
static ssize_t proc_text_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	struct proc_file *pf = f->private_data;
	down_write(&pf->lock);
	ssize_t r = 0;
	if (*pos == 0 || !pf->have) {
		struct sbuf b = { 0 };
		r = generate(pf, &b);
		if (r < 0) {
			kfree(b.p);
			goto out;
		}
		kfree(pf->text.p);
		pf->text = b;
		pf->have = true;
	}
	if (*pos >= pf->text.len)
		goto out;
	size_t n = MIN(len, pf->text.len - *pos);
	if (copy_to_user(ubuf, pf->text.p + *pos, n)) {
		r = -EFAULT;
		goto out;
	}
	*pos += n;
	r = (ssize_t)n;
out:
	up_write(&pf->lock);
	return r;
}

static ssize_t proc_write_eio(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return -EIO; /* proc_reg_write without a proc_write */
}

static ssize_t proc_dir_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return -EISDIR;
}

static int64_t proc_llseek(struct kfile *f, int64_t off, int whence)
{
	/* seq_lseek: SEEK_SET and SEEK_CUR, not below 0 */
	int64_t n = whence == SEEK_SET ? off : whence == SEEK_CUR ? (int64_t)f->f_pos + off : -1;
	if ((whence != SEEK_SET && whence != SEEK_CUR) || n < 0)
		return -EINVAL;
	f->f_pos = (uint64_t)n;
	return n;
}

static void proc_release(struct kfile *f)
{
	struct proc_file *pf = f->private_data;
	if (!pf)
		return;
	if (pf->mm)
		mmdrop(pf->mm);
	kfree(pf->text.p);
	kfree(pf);
}

static const struct file_operations proc_text_ops = {
	.read = proc_text_read,
	.llseek = proc_llseek,
	.release = proc_release,
};
static const struct file_operations proc_global_ops = {
	.read = proc_text_read,
	.write = proc_write_eio,
	.llseek = proc_llseek,
	.release = proc_release,
};
static const struct file_operations proc_pagemap_ops = {
	.read = pagemap_read,
	.llseek = pagemap_llseek,
	.release = proc_release,
};
static const struct file_operations proc_dir_ops = {
	.read = proc_dir_read,
	.llseek = proc_llseek,
	.release = proc_release,
};

/* ---- lookup ------------------------------------------------------------------ */

bool procfs_path(const char *path)
{
	return !strncmp(path, "/proc", 5) && (path[5] == 0 || path[5] == '/');
}

static int self_pid(void)
{
	return current->proc ? current->proc->pid : 0;
}

/* The exe path of pid into buf[PATH_MAX]: 0, or -ENOENT (no process, a
 * zombie, none recorded). */
static int exe_of(int pid, char *buf)
{
	int err = -ENOENT;
	spin_lock(&tasklist_lock);
	struct process *p = proc_find(pid);
	if (p && p->state == PROC_ALIVE && p->exe) {
		strlcpy(buf, p->exe->path, PATH_MAX);
		err = 0;
	}
	spin_unlock(&tasklist_lock);
	return err;
}

/* The root entry named by [p, p + len), or PK_NR. */
static enum proc_kind root_entry(const char *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(root_entries); i++)
		if (strlen(root_entries[i].name) == len && !strncmp(p, root_entries[i].name, len))
			return root_entries[i].kind;
	return PK_NR;
}

/* Walk path below /proc. follow: the last component too, if a link.
 * 0 with *n; 1: a link to SFS followed, its path in redirect; -errno. */
static int proc_walk(const char *path, bool follow, struct proc_node *n, char *redirect)
{
	const char *p = path + 5;
	*n = (struct proc_node){ PK_ROOT, 0, 0 };
	while (*p == '/')
		p++;
	while (*p) {
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		const char *next = e;
		while (*next == '/')
			next++;
		bool last = !*next;
		if (n->kind == PK_ROOT) {
			if (len == 4 && !strncmp(p, "self", 4)) {
				int me = self_pid();
				if (!me)
					return -ENOENT; /* a kernel thread: no self */
				if (last && !follow) {
					*n = (struct proc_node){ PK_SELF, me, 0 };
				} else {
					*n = (struct proc_node){ PK_PID_DIR, me, 0 };
				}
			} else if (root_entry(p, len) != PK_NR) {
				n->kind = root_entry(p, len);
				if (!last)
					return -ENOTDIR;
			} else {
				int pid = 0;
				for (const char *q = p; q < e; q++) {
					if (*q < '0' || *q > '9' || pid > PID_MAX_LIMIT)
						return -ENOENT;
					pid = pid * 10 + (*q - '0');
				}
				if (!pid || !pid_exists(pid) || (len > 1 && p[0] == '0'))
					return -ENOENT;
				*n = (struct proc_node){ PK_PID_DIR, pid, 0 };
			}
		} else if (n->kind == PK_PID_DIR) {
			enum proc_kind k = PK_NR;
			for (int i = PK_STATUS; i < PK_FD_LINK; i++)
				if (strlen(pid_entries[i]) == len &&
				    !strncmp(p, pid_entries[i], len))
					k = (enum proc_kind)i;
			if (k == PK_NR)
				return -ENOENT;
			if (k == PK_EXE && (!last || follow)) {
				int err = exe_of(n->pid, redirect);
				if (err)
					return err;
				if (!last)
					return -ENOTDIR; /* the program is a regular file */
				return 1;
			}
			n->kind = k;
		} else if (n->kind == PK_FD_DIR) {
			int fd = 0;
			for (const char *q = p; q < e; q++) {
				if (*q < '0' || *q > '9' || fd > (1 << 24))
					return -ENOENT;
				fd = fd * 10 + (*q - '0');
			}
			if (len > 1 && p[0] == '0')
				return -ENOENT;
			struct kfile *f = proc_fget(n->pid, fd);
			if (!f)
				return -ENOENT;
			bool sfs = (f->type == KFILE_REG || f->type == KFILE_DIR) && f->path;
			if (sfs && (!last || follow))
				strlcpy(redirect, f->path, PATH_MAX);
			kfile_put(f);
			n->kind = PK_FD_LINK;
			n->fd = fd;
			if (sfs && (!last || follow))
				return last ? 1 : -ENOTDIR;
			if (!last)
				return -ENOTDIR;
		} else {
			return -ENOTDIR; /* below a file */
		}
		p = next;
	}
	if (n->kind >= PK_PID_DIR && !pid_exists(n->pid))
		return -ENOENT;
	return 0;
}

bool procfs_is_dir(struct kfile *f)
{
	struct proc_file *pf = f->private_data;
	return f->type == KFILE_PROC && pf && is_dir_kind(pf->node.kind);
}

int procfs_open(const char *path, int flags, bool dir_only, struct kfile **out, char *redirect)
{
	struct proc_node n;
	int err = proc_walk(path, !(flags & O_NOFOLLOW), &n, redirect);
	if (err)
		return err;
	int acc = flags & O_ACCMODE;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (n.kind == PK_FD_LINK && !(flags & O_NOFOLLOW)) {
		/* a pipe, the console, a /proc file: the same open file again
		 * (Linux opens its inode anew: a pipe end is the same pipe) */
		struct kfile *f = proc_fget(n.pid, n.fd);
		if (!f)
			return -ENOENT;
		*out = f;
		return 0;
	}
	if (is_link_kind(n.kind)) /* O_NOFOLLOW on a link */
		return (flags & O_PATH) ? -EOPNOTSUPP : -ELOOP;
	bool dir = is_dir_kind(n.kind);
	if (dir && (flags & O_CREAT))
		return -EISDIR;
	if (dir && !(flags & O_PATH) && acc != O_RDONLY)
		return -EISDIR;
	if (!dir && ((flags & O_DIRECTORY) || dir_only))
		return -ENOTDIR;
	struct proc_file *pf = kzalloc(sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pf->node = n;
	rwsem_init(&pf->lock);
	if (n.kind == PK_MAPS || n.kind == PK_SMAPS_ROLLUP || n.kind == PK_PAGEMAP) {
		bool found;
		pf->mm = proc_mm_grab(n.pid, &found); /* proc_mem_open: NULL for a zombie */
		if (!found) {
			kfree(pf);
			return -ENOENT;
		}
	}
	const struct file_operations *ops = dir			   ? &proc_dir_ops
					    : n.kind == PK_PAGEMAP ? &proc_pagemap_ops
					    : n.kind < PK_SELF	   ? &proc_global_ops
								   : &proc_text_ops;
	unsigned mode = FMODE_LSEEK;
	if (flags & O_PATH) {
		mode = FMODE_PATH;
		acc = O_RDONLY;
	} else {
		if (acc == O_RDONLY || acc == O_RDWR)
			mode |= FMODE_READ;
		if (acc == O_WRONLY || acc == O_RDWR)
			mode |= FMODE_WRITE;
	}
	struct kfile *f =
	    kfile_alloc(ops, KFILE_PROC, mode,
			flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_PATH));
	size_t plen = strlen(path);
	char *pcopy = f ? kmalloc(plen + 1) : NULL;
	if (!pcopy) {
		if (f)
			kfile_put(f);
		if (pf->mm)
			mmdrop(pf->mm);
		kfree(pf);
		return -ENOMEM;
	}
	/* a dirfd's path: "/proc/self" opened names the pid it was then */
	if (n.kind == PK_PID_DIR)
		snprintf(pcopy, plen + 1, "/proc/%d", n.pid);
	else
		memcpy(pcopy, path, plen + 1);
	f->path = pcopy;
	f->private_data = pf;
	*out = f;
	return 0;
}

static void fill_node_stat(const struct proc_node *n, struct linux_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = 0x15; /* proc's anonymous device */
	st->st_ino = node_ino(n);
	st->st_blksize = 1024;
	if (is_dir_kind(n->kind)) {
		st->st_mode = S_IFDIR | (n->kind == PK_FD_DIR ? 0500 : 0555);
		st->st_nlink = n->kind == PK_ROOT ? 3 : 2;
	} else if (is_link_kind(n->kind)) {
		st->st_mode = S_IFLNK | (n->kind == PK_FD_LINK ? 0700 : 0777);
		st->st_nlink = 1;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	}
}

int procfs_stat(const char *path, bool follow, bool dir_only, struct linux_stat *st, char *redirect)
{
	struct proc_node n;
	int err = proc_walk(path, follow || dir_only, &n, redirect);
	if (err)
		return err;
	if (dir_only && !is_dir_kind(n.kind))
		return -ENOTDIR;
	fill_node_stat(&n, st);
	if (n.kind == PK_FD_LINK && follow) { /* what the link names */
		struct kfile *f = proc_fget(n.pid, n.fd);
		if (!f)
			return -ENOENT;
		if (f->type == KFILE_PIPE) {
			st->st_mode = 0010000 | 0600; /* S_IFIFO */
			st->st_ino = f->pipe ? f->pipe->ino : 0;
		} else if (f->type == KFILE_CONSOLE) {
			st->st_mode = 0020000 | 0620; /* S_IFCHR */
			st->st_rdev = (5 << 8) | 1;   /* /dev/console: 5, 1 */
		} else {
			st->st_mode = S_IFREG | 0444;
		}
		kfile_put(f);
	}
	return 0;
}

void procfs_fstat(struct kfile *f, struct linux_stat *st)
{
	struct proc_file *pf = f->private_data;
	fill_node_stat(&pf->node, st);
}

long procfs_readlink(const char *path, uint64_t ubuf, int bufsiz)
{
	struct proc_node n;
	char *buf = kmalloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	long r = proc_walk(path, false, &n, buf);
	if (r == 0) {
		if (n.kind == PK_SELF)
			snprintf(buf, PATH_MAX, "%d", n.pid);
		else if (n.kind == PK_EXE)
			r = exe_of(n.pid, buf);
		else if (n.kind == PK_FD_LINK) {
			struct kfile *f = proc_fget(n.pid, n.fd);
			if (f) {
				kfile_link_name(f, buf);
				kfile_put(f);
			} else {
				r = -ENOENT;
			}
		} else
			r = -EINVAL;
	}
	if (r == 0) {
		size_t len = MIN(strlen(buf), (size_t)bufsiz);
		r = copy_to_user(ubuf, buf, len) ? -EFAULT : (long)len;
	}
	kfree(buf);
	return r;
}

/* ---- getdents64 ----------------------------------------------------------------- */

/* One record at dirp + *written: false when it does not fit (or faulted:
 * *err). */
static bool emit(uint64_t dirp, unsigned count, uint64_t *written, long *err, const char *name,
		 uint64_t ino, uint64_t next, uint8_t type)
{
	size_t nlen = strlen(name);
	size_t reclen = ALIGN_UP(__builtin_offsetof(struct linux_dirent64, d_name) + nlen + 1, 8);
	if (*written + reclen > count) {
		if (!*written)
			*err = -EINVAL;
		return false;
	}
	uint8_t rec[64];
	memset(rec, 0, reclen);
	struct linux_dirent64 *d = (struct linux_dirent64 *)rec;
	d->d_ino = ino;
	d->d_off = (int64_t)next;
	d->d_reclen = (uint16_t)reclen;
	d->d_type = type;
	memcpy(d->d_name, name, nlen + 1);
	if (copy_to_user(dirp + *written, rec, reclen)) {
		if (!*written)
			*err = -EFAULT;
		return false;
	}
	*written += reclen;
	return true;
}

/* The first pid >= from (0: none). */
static int next_pid_from(int from)
{
	int best = 0;
	spin_lock(&tasklist_lock);
	struct process *p;
	list_for_each_entry (p, &all_processes, all_node)
#ifndef MUTATION_PROC_READDIR_SKIPS_PID
		if (p->pid >= from && (!best || p->pid < best))
#else
		if (p->pid > from && (!best || p->pid < best))
#endif
			best = p->pid;
	spin_unlock(&tasklist_lock);
	return best;
}

/* /proc positions: 0 ., 1 .., the root entries, self, then pid + ROOT_PID_POS */
#define ROOT_SELF_POS (2 + ARRAY_SIZE(root_entries))
#define ROOT_PID_POS  (ROOT_SELF_POS + 1)

long procfs_getdents64(struct kfile *f, uint64_t dirp, unsigned count)
{
	struct proc_file *pf = f->private_data;
	if (!access_ok(dirp, count))
		return -EFAULT;
	long err = 0;
	uint64_t written = 0;
	down_write(&f->pos_lock);
	uint64_t pos = f->f_pos;
	struct proc_node self = pf->node;
	if ((self.kind == PK_PID_DIR || self.kind == PK_FD_DIR) && !pid_exists(self.pid)) {
		up_write(&f->pos_lock);
		return -ENOENT; /* Linux: the pid's dir is gone */
	}
	for (;;) {
		char name[24];
		uint64_t ino;
		uint8_t type;
		uint64_t next = pos + 1;
		if (pos == 0 || pos == 1) {
			strlcpy(name, pos ? ".." : ".", sizeof(name));
			struct proc_node root = { PK_ROOT, 0, 0 };
			struct proc_node piddir = { PK_PID_DIR, self.pid, 0 };
			ino = node_ino(pos == 0 ? &self : self.kind == PK_FD_DIR ? &piddir : &root);
			type = DT_DIR;
		} else if (self.kind == PK_FD_DIR) {
			int fd = next_fd_from(self.pid, (int)(pos - 2));
			if (fd < 0)
				break;
			struct proc_node l = { PK_FD_LINK, self.pid, fd };
			snprintf(name, sizeof(name), "%d", fd);
			ino = node_ino(&l);
			type = DT_LNK;
			pos = 2 + (uint64_t)fd;
			next = pos + 1;
		} else if (self.kind == PK_ROOT) {
			if (pos < ROOT_SELF_POS) {
				struct proc_node g = { root_entries[pos - 2].kind, 0, 0 };
				strlcpy(name, root_entries[pos - 2].name, sizeof(name));
				ino = node_ino(&g);
				type = DT_REG;
			} else if (pos == ROOT_SELF_POS) {
				struct proc_node g = { PK_SELF, 0, 0 };
				strlcpy(name, "self", sizeof(name));
				ino = node_ino(&g);
				type = DT_LNK;
			} else {
				int pid = next_pid_from((int)(pos - ROOT_PID_POS));
				if (!pid)
					break;
				struct proc_node d = { PK_PID_DIR, pid, 0 };
				snprintf(name, sizeof(name), "%d", pid);
				ino = node_ino(&d);
				type = DT_DIR;
				pos = ROOT_PID_POS + (uint64_t)pid;
				next = pos + 1;
			}
		} else {
			int k = (int)(pos - 2) + PK_STATUS;
			if (k >= PK_FD_LINK)
				break;
			struct proc_node e = { (enum proc_kind)k, self.pid, 0 };
			strlcpy(name, pid_entries[k], sizeof(name));
			ino = node_ino(&e);
			type = k == PK_EXE ? DT_LNK : k == PK_FD_DIR ? DT_DIR : DT_REG;
		}
		if (!emit(dirp, count, &written, &err, name, ino, next, type))
			break;
		pos = next;
	}
	f->f_pos = pos;
	up_write(&f->pos_lock);
	return written ? (long)written : err;
}
