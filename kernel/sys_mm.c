/*
 * kernel/sys_mm.c - the memory system calls of a user process: mmap (of
 * anonymous memory and of files named by an fd), munmap, mprotect, madvise
 * and brk, as thin checks in front of mm/mm.c.
 *
 * mmap follows Linux 6.1 (arch/x86/kernel/sys_x86_64.c, ksys_mmap_pgoff,
 * do_mmap), check for check and in its order, so that a call with several
 * bad arguments gets Linux's errno:
 *   1. offset not page aligned: -EINVAL (before the fd is looked at, even
 *      with MAP_ANONYMOUS);
 *   2. without MAP_ANONYMOUS: the fd must name an open file (an O_PATH fd
 *      does not: fget ignores those): -EBADF; MAP_HUGETLB on a file that
 *      is not hugetlbfs: -EINVAL (anonymous MAP_HUGETLB: -ENOMEM, as Linux
 *      with no huge pages reserved);
 *   3. len 0: -EINVAL; len that wraps when rounded up to pages, or longer
 *      than the user half: -ENOMEM; offset + len past 2^64: -EOVERFLOW;
 *   4. MAP_FIXED: past the user limit (TASK_SIZE, USER_TOP here): -ENOMEM;
 *      an address not page aligned: -EINVAL;
 *   5. a file: offset + len past the largest file (MAX_LFS_FILESIZE):
 *      -EOVERFLOW; then by type: MAP_SHARED drops the flags it does not
 *      know (old programs pass junk), MAP_SHARED_VALIDATE refuses them
 *      (-EOPNOTSUPP: e.g. MAP_SYNC, which only DAX files support); a shared
 *      PROT_WRITE mapping needs the fd open for writing (-EACCES), and a
 *      shared mapping of an fd not open for writing never gets VM_MAYWRITE
 *      (mprotect cannot add PROT_WRITE later); every mapping needs the fd
 *      open for reading (-EACCES); only regular files can be mapped
 *      (pipes, the console, directories: -ENODEV, they have no ->mmap);
 *      MAP_GROWSDOWN: -EINVAL. Any other type (0, 4-15): -EINVAL.
 *   6. anonymous: MAP_SHARED (a shmem file, mm/shmem.c) or MAP_PRIVATE;
 *      anything else (MAP_SHARED_VALIDATE included, in 6.1) -EINVAL;
 *   7. MAP_FIXED below mmap_min_addr (65536, Debian's and the usual
 *      default): -EPERM, as Linux answers a caller without CAP_SYS_RAWIO
 *      (we run everything as uid 0 but grant no capability, as iopl).
 * O_APPEND does not matter: Linux refuses a shared writable mapping only of
 * an append-only *inode* (chattr +a, IS_APPEND), which SFS does not have.
 * Unknown prot bits are ignored as Linux's mmap ignores them (mprotect
 * checks them). MAP_FIXED_NOREPLACE gets MAP_FIXED's address checks and
 * -EEXIST where it would replace a mapping (mm/mm.c); a non-fixed address
 * is only a hint, and mm/mm.c ignores it. MAP_POPULATE (without
 * MAP_NONBLOCK) and MAP_LOCKED fault the range in; MAP_NORESERVE is
 * recorded (nothing is ever reserved here); MAP_GROWSDOWN on private
 * anonymous memory makes a VM_GROWSDOWN VMA (mprotect's PROT_GROWSDOWN
 * works on it) that does NOT grow on a fault below it (Linux grows it).
 *
 * The file's lifetime: the VMA holds a reference on the file's inode
 * (mm/mm.c vma_link_file, mapped_file_get), taken before the fd's
 * reference is dropped here, so closing the fd, or unlinking the file,
 * leaves the mapping working. A shared mapping maps the page cache pages
 * that read() and write() use, so what it writes is what read() returns,
 * and fsync/msync write it back (mm/filemap.c's dirty tracking).
 *
 * munmap, mprotect, madvise, mremap, mincore and the mlock family follow
 * Linux 6.1 check for check too (mm/mm.c, the argument checks that need no
 * lock here); msync is here whole:
 *   msync: flags beyond MS_ASYNC|MS_INVALIDATE|MS_SYNC -EINVAL; start not
 *   page aligned -EINVAL; MS_ASYNC with MS_SYNC -EINVAL; a range that wraps
 *   -ENOMEM; len 0: 0. Then VMA by VMA: MS_INVALIDATE on a VM_LOCKED VMA
 *   -EBUSY; MS_SYNC writes back (mm/filemap.c filemap_write_and_wait_range,
 *   the fsync path: page_mkclean then the write, waited for) the dirty pages
 *   of a shared file mapping's part of the range, with mmap_lock dropped
 *   (the VMA's file is held); a hole makes the result -ENOMEM (MS_ASYNC
 *   alone stops there) after the rest is done. MS_ASYNC starts nothing
 *   (the flusher writes dirty pages back within its interval, as Linux
 *   6.1's MS_ASYNC leaves it to the flusher); MS_INVALIDATE has nothing to
 *   invalidate (one coherent page cache), as in Linux.
 *   MUTATION_MSYNC_NO_WRITEBACK: MS_SYNC writes nothing back.
 */
#include "kernel/sys_mm.h"
#include "kernel/file.h"
#include "kernel/memfd.h"
#include "kernel/fdtable.h"
#include "kernel/fs/fs.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "mm/mm.h"
#include "mm/shmem.h"
#include "mm/filemap.h"
#include "mm/kmalloc.h"
#include "kernel/fs/fs.h"
#include "arch/x86_64/uaccess.h"

#define MAX_LFS_FILESIZE 0x7fffffffffffffffull
#define TASK_SIZE	 (USER_SPACE_END - PAGE_SIZE)
#define MMAP_MIN_ADDR	 65536ull /* vm.mmap_min_addr */
/* The flags mm/mm.c acts on beyond the type and MAP_FIXED. */
#define MAP_EXTRA (MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_NONBLOCK | MAP_LOCKED | MAP_NORESERVE)

/* Step 7 (security_mmap_addr): page 0 and its neighbours stay unmapped, so
 * a kernel NULL dereference can never reach user data. */
static int check_min_addr(uint64_t addr, uint64_t flags)
{
#ifndef MUTATION_MMAP_LOW_FIXED
	if ((flags & MAP_FIXED) && addr < MMAP_MIN_ADDR)
		return -EPERM;
#endif
	return 0;
}

/* Step 3 and 4: the length and a MAP_FIXED address. 0 or -errno. */
static int check_range(uint64_t addr, uint64_t len, uint64_t flags, uint64_t pgoff)
{
	if (!len)
		return -EINVAL;
	uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
	if (!plen)
		return -ENOMEM;
	if (pgoff + (plen >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (plen > TASK_SIZE)
		return -ENOMEM;
	if (flags & MAP_FIXED) {
		if (addr > TASK_SIZE - plen)
			return -ENOMEM;
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
	}
	return 0;
}

/* Step 5: what the file's open mode lets the mapping have (VM_MAY* bits),
 * or -errno. *flags loses MAP_SHARED's unknown bits and becomes
 * MAP_SHARED or MAP_PRIVATE. */
static long file_mmap_may(struct kfile *f, uint64_t len, uint64_t pgoff, uint64_t prot,
			  uint64_t *flags)
{
	uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
	if (pgoff > (MAX_LFS_FILESIZE - plen) >> PAGE_SHIFT)
		return -EOVERFLOW; /* file_mmap_ok */
	unsigned long may = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	switch (*flags & MAP_TYPE) {
	case MAP_SHARED:
		*flags &= LEGACY_MAP_MASK;
		/* fallthrough */
	case MAP_SHARED_VALIDATE:
#ifndef MUTATION_MMAP_VALIDATE_IGNORED
		if (*flags & ~(uint64_t)LEGACY_MAP_MASK)
			return -EOPNOTSUPP;
#endif
#ifndef MUTATION_MMAP_SHARED_NO_WRITE_CHECK
		if ((prot & PROT_WRITE) && !(f->f_mode & FMODE_WRITE))
			return -EACCES;
		if (!(f->f_mode & FMODE_WRITE))
			may &= ~VM_MAYWRITE;
#endif
		*flags = (*flags & ~(uint64_t)MAP_TYPE) | MAP_SHARED;
		/* fallthrough */
	case MAP_PRIVATE:
#ifndef MUTATION_MMAP_NO_READ_CHECK
		if (!(f->f_mode & FMODE_READ))
			return -EACCES;
#endif
		if ((f->type != KFILE_REG && f->type != KFILE_MEMFD) || !f->sfs)
			return -ENODEV; /* no ->mmap: pipe, console, directory */
		if (*flags & MAP_GROWSDOWN)
			return -EINVAL;
		return (long)may;
	}
	return -EINVAL;
}

/* Step 6: the anonymous mapping types. */
static int anon_mmap_type(uint64_t flags)
{
	uint64_t type = flags & MAP_TYPE;
	if (type == MAP_SHARED)
		return (flags & MAP_GROWSDOWN) ? -EINVAL : 0;
	return type == MAP_PRIVATE ? 0 : -EINVAL;
}

static int64_t mmap_file(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int fd,
			 uint64_t pgoff)
{
	struct kfile *f = fget(current_files(), fd);
	if (!f || (f->f_mode & FMODE_PATH)) {
		if (f)
			kfile_put(f);
		return -EBADF;
	}
	uint64_t chk = flags | (flags & MAP_FIXED_NOREPLACE ? MAP_FIXED : 0);
	int64_t r = (flags & MAP_HUGETLB) ? -EINVAL : check_range(addr, len, chk, pgoff);
	long may = r ? r : file_mmap_may(f, len, pgoff, prot, &flags);
	if (may < 0)
		r = may;
	else if (!(r = check_min_addr(addr, chk)))
		r = vm_mmap_file(current->mm, addr, len, (int)(prot & 7),
				 (int)(flags & (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_EXTRA)),
				 f->type == KFILE_MEMFD ? memfd_file_inode(f) : f->sfs->inode,
				 pgoff, (unsigned long)may);
#ifndef MUTATION_MMAP_FD_NOT_PUT
	kfile_put(f); /* the VMA holds the inode now */
#endif
	return r;
}

int64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
		 uint64_t off)
{
#ifndef MUTATION_MMAP_OFFSET_UNCHECKED
	if (off & (PAGE_SIZE - 1))
		return -EINVAL;
#endif
	uint64_t pgoff = off >> PAGE_SHIFT;
	if (!(flags & MAP_ANONYMOUS))
		return mmap_file(addr, len, prot, flags, (int)fd, pgoff);
	if (flags & MAP_HUGETLB)
		return -ENOMEM; /* no huge pages reserved (hugetlb_file_setup) */
	uint64_t chk = flags | (flags & MAP_FIXED_NOREPLACE ? MAP_FIXED : 0);
	int err = check_range(addr, len, chk, 0);
	if (!err)
		err = anon_mmap_type(flags);
	if (!err)
		err = check_min_addr(addr, chk);
	if (err)
		return err;
	return vm_mmap(current->mm, addr, len, (int)(prot & 7),
		       (int)(flags & (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS |
				      MAP_EXTRA | MAP_GROWSDOWN)));
}

int64_t sys_munmap(uint64_t addr, uint64_t len)
{
	return vm_munmap(current->mm, addr, len);
}

int64_t sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
	return vm_mprotect(current->mm, addr, len, (int)prot);
}

int64_t sys_madvise(uint64_t addr, uint64_t len, uint64_t advice)
{
	return vm_madvise(current->mm, addr, len, (int)advice);
}

int64_t sys_brk(uint64_t brk)
{
	return (int64_t)vm_brk(current->mm, brk);
}

/* ---- mremap -------------------------------------------------------------- */

/* Linux 6.1 SYSCALL_DEFINE5(mremap): the checks before the lock. */
int64_t sys_mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
		   uint64_t new_addr)
{
	if (flags & ~(uint64_t)(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	/* MREMAP_DONTUNMAP is always a move, and never a resize. */
	if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return -EINVAL;
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	old_len = ALIGN_UP(old_len, PAGE_SIZE);
	new_len = ALIGN_UP(new_len, PAGE_SIZE);
	if (!new_len) /* old_len 0 duplicates a shared mapping; new_len 0 is nonsense */
		return -EINVAL;
	return vm_mremap(current->mm, addr, old_len, new_len, (unsigned long)flags, new_addr);
}

/* ---- msync --------------------------------------------------------------- */

#define MS_ASYNC      1
#define MS_INVALIDATE 2

int64_t sys_msync(uint64_t start, uint64_t len, uint64_t flags)
{
	if (flags & ~(uint64_t)(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
		return -EINVAL;
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	uint64_t end = start + len;
	if (end < start)
		return -ENOMEM;
	if (end == start)
		return 0;
	struct mm *mm = current->mm;
	int64_t err = 0, unmapped = 0;
	down_read(&mm->mmap_lock);
	struct vm_area_struct *v = find_vma(mm, start);
	for (;;) {
		err = -ENOMEM;
		if (!v)
			break;
		if (start < v->vm_start) { /* a hole */
			if (flags == MS_ASYNC)
				break;
			start = v->vm_start;
			if (start >= end)
				break;
			unmapped = -ENOMEM;
		}
		if ((flags & MS_INVALIDATE) && (v->vm_flags & VM_LOCKED)) {
			err = -EBUSY;
			break;
		}
		uint64_t first = v->vm_pgoff + ((start - v->vm_start) >> PAGE_SHIFT);
		uint64_t last = first + ((MIN(end, v->vm_end) - start) >> PAGE_SHIFT);
		start = v->vm_end;
		if ((flags & MS_SYNC) && v->vm_file && (v->vm_flags & VM_SHARED)) {
			struct inode *file = v->vm_file;
			mapped_file_get(file); /* the VMA may go once the lock is dropped */
			up_read(&mm->mmap_lock);
#ifndef MUTATION_MSYNC_NO_WRITEBACK
			err = filemap_write_and_wait_range(&file->mapping, first, last);
#else
			(void)first, (void)last, err = 0;
#endif
			mapped_file_put(file);
			if (err || start >= end)
				return err ? err : unmapped;
			down_read(&mm->mmap_lock);
			v = find_vma(mm, start);
		} else {
			if (start >= end) {
				err = 0;
				break;
			}
			v = find_vma(mm, start);
		}
	}
	up_read(&mm->mmap_lock);
	return err ? err : unmapped;
}

/* ---- mincore ------------------------------------------------------------- */

int64_t sys_mincore(uint64_t start, uint64_t len, uint64_t vec)
{
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!access_ok(start, len))
		return -ENOMEM; /* not a user range */
	uint64_t pages = (len >> PAGE_SHIFT) + ((len & (PAGE_SIZE - 1)) != 0);
	if (!access_ok(vec, pages))
		return -EFAULT;
	uint8_t *buf = kmalloc(PAGE_SIZE);
	if (!buf)
		return -EAGAIN;
	int64_t ret = 0;
	while (pages) {
		long n = vm_mincore(current->mm, start, MIN(pages, PAGE_SIZE), buf);
		if (n <= 0) {
			ret = n;
			break;
		}
		if (copy_to_user(vec, buf, (uint64_t)n)) {
			ret = -EFAULT;
			break;
		}
		pages -= (uint64_t)n;
		vec += (uint64_t)n;
		start += (uint64_t)n << PAGE_SHIFT;
	}
	kfree(buf);
	return ret;
}

/* ---- mlock, munlock, mlock2, mlockall, munlockall ------------------------- */

/*
 * Linux 6.1 mm/mlock.c. A lock here only accounts (mm->locked_vm, against
 * RLIMIT_MEMLOCK's 8 MiB, as a caller without CAP_IPC_LOCK) and populates
 * the range: nothing is ever reclaimed or swapped, so a populated page
 * stays. Errors: start is rounded down and len up to pages; a range beyond
 * the limit -ENOMEM; a hole -ENOMEM (the VMAs before it stay locked);
 * mlock2 flags beyond MLOCK_ONFAULT -EINVAL; mlockall flags 0, unknown, or
 * MCL_ONFAULT alone -EINVAL.
 */
static int64_t do_mlock(uint64_t start, uint64_t len, unsigned long flags)
{
	len = ALIGN_UP(len + (start & (PAGE_SIZE - 1)), PAGE_SIZE);
	start &= PAGE_MASK;
	struct mm *mm = current->mm;
	down_write(&mm->mmap_lock);
	int64_t err = -ENOMEM;
	uint64_t locked = (len >> PAGE_SHIFT) + mm->locked_vm;
	/* Pages already locked in the range do not count twice (Linux does
	 * the same subtraction, count_mm_mlocked_page_nr). */
	if (locked > MLOCK_LIMIT_PAGES) {
		struct vm_area_struct *v;
		list_for_each_entry (v, &mm->vmas, vm_node)
			if ((v->vm_flags & VM_LOCKED) && v->vm_end > start &&
			    v->vm_start < start + len)
				locked -= (MIN(v->vm_end, start + len) - MAX(v->vm_start, start)) >>
					  PAGE_SHIFT;
	}
	if (locked <= MLOCK_LIMIT_PAGES)
		err = apply_vma_lock_flags(mm, start, len, flags);
	if (!err && !(flags & VM_LOCKONFAULT))
		populate_range(mm, start, start + len);
	up_write(&mm->mmap_lock);
	return err;
}

int64_t sys_mlock(uint64_t start, uint64_t len)
{
	return do_mlock(start, len, VM_LOCKED);
}

int64_t sys_mlock2(uint64_t start, uint64_t len, uint64_t flags)
{
	if (flags & ~(uint64_t)MLOCK_ONFAULT)
		return -EINVAL;
	return do_mlock(start, len, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

int64_t sys_munlock(uint64_t start, uint64_t len)
{
	len = ALIGN_UP(len + (start & (PAGE_SIZE - 1)), PAGE_SIZE);
	start &= PAGE_MASK;
	struct mm *mm = current->mm;
	down_write(&mm->mmap_lock);
	int64_t err = apply_vma_lock_flags(mm, start, len, 0);
	up_write(&mm->mmap_lock);
	return err;
}

int64_t sys_mlockall(uint64_t flags)
{
	if (!flags || (flags & ~(uint64_t)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
	    flags == MCL_ONFAULT)
		return -EINVAL;
	struct mm *mm = current->mm;
	down_write(&mm->mmap_lock);
	int64_t err = -ENOMEM;
	if (!(flags & MCL_CURRENT) || mm_total_vm(mm) <= MLOCK_LIMIT_PAGES)
		err = apply_mlockall_flags(mm, (int)flags);
	if (!err && (flags & MCL_CURRENT) && !(flags & MCL_ONFAULT))
		populate_range(mm, 0, USER_SPACE_END);
	up_write(&mm->mmap_lock);
	return err;
}

int64_t sys_munlockall(void)
{
	struct mm *mm = current->mm;
	down_write(&mm->mmap_lock);
	apply_mlockall_flags(mm, 0);
	up_write(&mm->mmap_lock);
	return 0;
}
