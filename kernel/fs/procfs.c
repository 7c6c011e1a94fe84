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
 * Locks: tasklist_lock (spin) for the lookups; mmap_lock then
 * page_table_lock for the walks; pf->lock (rwsem) serializes the readers
 * of one open text file (pread does not take pos_lock); names_lock (spin)
 * the table of names.
 */
#include "kernel/fs/procfs.h"
#include "kernel/fs/fs.h"
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

#include <stdarg.h>

#define S_IFLNK 0120000
#define DT_LNK	10

enum proc_kind {
	PK_ROOT,
	PK_INTERRUPTS,
	PK_VMSTAT,
	PK_SELF,
	PK_PID_DIR,
	PK_STATUS,
	PK_CMDLINE,
	PK_MAPS,
	PK_EXE,
	PK_SMAPS_ROLLUP,
	PK_PAGEMAP,
	PK_NR,
};

static const char *const pid_entries[] = {
	/* Linux's tgid_base_stuff order */
	[PK_STATUS] = "status", [PK_CMDLINE] = "cmdline",	    [PK_MAPS] = "maps",
	[PK_EXE] = "exe",	[PK_SMAPS_ROLLUP] = "smaps_rollup", [PK_PAGEMAP] = "pagemap",
};

struct proc_node {
	enum proc_kind kind;
	int pid; /* PK_PID_DIR and below: the pid (or tid) named */
};

static bool is_dir_kind(enum proc_kind k)
{
	return k == PK_ROOT || k == PK_PID_DIR;
}
static bool is_link_kind(enum proc_kind k)
{
	return k == PK_SELF || k == PK_EXE;
}

static uint64_t node_ino(const struct proc_node *n)
{
	if (n->kind < PK_PID_DIR)
		return 1 + (uint64_t)n->kind;
	return ((uint64_t)n->pid << 4) + (uint64_t)n->kind + 0x100;
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

/* Walk path below /proc. follow: the last component too, if a link.
 * 0 with *n; 1: a link to SFS followed, its path in redirect; -errno. */
static int proc_walk(const char *path, bool follow, struct proc_node *n, char *redirect)
{
	const char *p = path + 5;
	*n = (struct proc_node){ PK_ROOT, 0 };
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
					*n = (struct proc_node){ PK_SELF, me };
				} else {
					*n = (struct proc_node){ PK_PID_DIR, me };
				}
			} else if (len == 6 && !strncmp(p, "vmstat", 6)) {
				n->kind = PK_VMSTAT;
			} else if (len == 10 && !strncmp(p, "interrupts", 10)) {
				n->kind = PK_INTERRUPTS;
			} else {
				int pid = 0;
				for (const char *q = p; q < e; q++) {
					if (*q < '0' || *q > '9' || pid > PID_MAX_LIMIT)
						return -ENOENT;
					pid = pid * 10 + (*q - '0');
				}
				if (!pid || !pid_exists(pid) || (len > 1 && p[0] == '0'))
					return -ENOENT;
				*n = (struct proc_node){ PK_PID_DIR, pid };
			}
		} else if (n->kind == PK_PID_DIR) {
			enum proc_kind k = PK_NR;
			for (int i = PK_STATUS; i < PK_NR; i++)
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
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = n->kind == PK_ROOT ? 3 : 2;
	} else if (is_link_kind(n->kind)) {
		st->st_mode = S_IFLNK | 0777;
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
		else
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
		if (p->pid >= from && (!best || p->pid < best))
			best = p->pid;
	spin_unlock(&tasklist_lock);
	return best;
}

#define ROOT_PID_POS 5 /* /proc positions: 0 ., 1 .., 2 interrupts, 3 vmstat, 4 self, pids */

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
	if (self.kind == PK_PID_DIR && !pid_exists(self.pid)) {
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
			struct proc_node root = { PK_ROOT, 0 };
			ino = node_ino(pos == 1 || self.kind == PK_ROOT ? &root : &self);
			type = DT_DIR;
		} else if (self.kind == PK_ROOT) {
			if (pos == 2 || pos == 3) {
				struct proc_node g = { pos == 2 ? PK_INTERRUPTS : PK_VMSTAT, 0 };
				strlcpy(name, pos == 2 ? "interrupts" : "vmstat", sizeof(name));
				ino = node_ino(&g);
				type = DT_REG;
			} else if (pos == 4) {
				struct proc_node g = { PK_SELF, 0 };
				strlcpy(name, "self", sizeof(name));
				ino = node_ino(&g);
				type = DT_LNK;
			} else {
				int pid = next_pid_from((int)(pos - ROOT_PID_POS));
				if (!pid)
					break;
				struct proc_node d = { PK_PID_DIR, pid };
				snprintf(name, sizeof(name), "%d", pid);
				ino = node_ino(&d);
				type = DT_DIR;
				pos = ROOT_PID_POS + (uint64_t)pid;
				next = pos + 1;
			}
		} else {
			int k = (int)(pos - 2) + PK_STATUS;
			if (k >= PK_NR)
				break;
			struct proc_node e = { (enum proc_kind)k, self.pid };
			strlcpy(name, pid_entries[k], sizeof(name));
			ino = node_ino(&e);
			type = k == PK_EXE ? DT_LNK : DT_REG;
		}
		if (!emit(dirp, count, &written, &err, name, ino, next, type))
			break;
		pos = next;
	}
	f->f_pos = pos;
	up_write(&f->pos_lock);
	return written ? (long)written : err;
}
