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
 * checks them). MAP_FIXED_NOREPLACE is taken as a hint (Linux before
 * 4.17); a non-fixed address is only a hint, and mm/mm.c ignores it.
 *
 * The file's lifetime: the VMA holds a reference on the file's inode
 * (mm/mm.c vma_link_file, mapped_file_get), taken before the fd's
 * reference is dropped here, so closing the fd, or unlinking the file,
 * leaves the mapping working. A shared mapping maps the page cache pages
 * that read() and write() use, so what it writes is what read() returns,
 * and fsync/msync write it back (mm/filemap.c's dirty tracking).
 *
 * munmap, mprotect, madvise and brk are mm/mm.c's as they are (their own
 * Linux checks come with part 3 of issue 11).
 */
#include "kernel/sys_mm.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/fs/fs.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "mm/mm.h"

#define MAX_LFS_FILESIZE 0x7fffffffffffffffull
#define TASK_SIZE	 (USER_SPACE_END - PAGE_SIZE)
#define MMAP_MIN_ADDR	 65536ull /* vm.mmap_min_addr */

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
		if (f->type != KFILE_REG || !f->sfs)
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
	int64_t r = (flags & MAP_HUGETLB) ? -EINVAL : check_range(addr, len, flags, pgoff);
	long may = r ? r : file_mmap_may(f, len, pgoff, prot, &flags);
	if (may < 0)
		r = may;
	else if (!(r = check_min_addr(addr, flags)))
		r = vm_mmap_file(current->mm, addr, len, (int)(prot & 7),
				 (int)(flags & (MAP_SHARED | MAP_PRIVATE | MAP_FIXED)),
				 f->sfs->inode, pgoff, (unsigned long)may);
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
	int err = check_range(addr, len, flags, 0);
	if (!err)
		err = anon_mmap_type(flags);
	if (!err)
		err = check_min_addr(addr, flags);
	if (err)
		return err;
	return vm_mmap(current->mm, addr, len, (int)(prot & 7),
		       (int)(flags & (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS)));
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
