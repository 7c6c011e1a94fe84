/*
 * kernel/process_vm.c - process_vm_readv / process_vm_writev (Linux's
 * mm/process_vm_access.c): copy between the caller's iovecs and another
 * process's memory, through GUP on the target's mm.
 *
 * The target: pid names a live thread (tid); its mm is taken with
 * mmget_not_zero (Linux's mm_access): a reference that cannot resurrect an
 * address space whose last user already dropped it, so a target that
 * exits meanwhile gives -ESRCH (or the data, if we got there first), never
 * a torn-down mm. A zombie or a kernel thread has no mm: -ESRCH. We run as
 * root, so the ptrace access check always passes.
 *
 * The copy: for each remote iovec, whole pages are pinned in the target's
 * mm with pin_user_pages_remote (FOLL_PIN, as Linux 6.1's pin_user_pages_remote;
 * FOLL_WRITE for writev, which breaks COW in the target as its own write
 * would), under the target's mmap_lock (taken by mm/gup.c's slow path,
 * which is the remote path: GUP-fast only walks current->mm); the pins
 * are dropped (dirtying the pages for writev) after each batch, whatever
 * happened. The local side is copied with copy_to_user/copy_from_user in
 * pieces that never cross a local page, so a fault stops the copy exactly
 * where the local memory ends.
 *
 * Results as Linux: flags != 0 -EINVAL; more than UIO_MAXIOV iovecs on
 * either side -EINVAL; unreadable iovec arrays -EFAULT; a local range
 * outside user space -EFAULT; nothing to copy (local total 0, or no remote
 * byte) 0 without looking at the pid; otherwise the bytes copied before
 * the first fault (local or remote), or -EFAULT if none were.
 *
 * Locks: tasklist_lock to find the thread and read its mm (interrupts off
 * from the read to the reference); the target's mmap_lock inside GUP; no
 * lock while copying.
 */
#include "kernel/process_vm.h"
#include "kernel/splice.h"
#include "kernel/sys_file.h"
#include "kernel/process.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "arch/x86_64/uaccess.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/gup.h"
#include "mm/kmalloc.h"

#define PVM_MAX_PAGES 16 /* pinned at a time */

#ifndef MUTATION_PROCESS_VM_NO_MMGET
/* A reference to mm unless its users already went to zero (Linux's
 * mmget_not_zero). */
static bool mmget_not_zero(struct mm *mm)
{
	return atomic_add_unless(&mm->mm_users, 1, 0);
}
#endif

/* The mm of thread pid with a user reference, or NULL (-ESRCH). */
static struct mm *mm_access_pid(int pid)
{
	struct mm *mm = NULL;
	spin_lock(&tasklist_lock);
	struct thread *t = pid > 0 ? find_thread(pid) : NULL;
	if (t) {
		unsigned long f = local_irq_save();
		mm = READ_ONCE(t->mm);
#ifdef MUTATION_PROCESS_VM_NO_MMGET
		/* no reference: the target's exit tears the mm down under us */
#else
		if (mm && !mmget_not_zero(mm))
			mm = NULL; /* it exited: its last user is tearing the mm down */
#endif
		local_irq_restore(f);
	}
	spin_unlock(&tasklist_lock);
	return mm;
}

struct local_iter {
	struct iovec_user *iov;
	uint64_t nr, seg, off, left; /* left: bytes still to copy in all */
};

/* Copy n bytes between kbuf and the local iovecs; the bytes copied (less
 * than n only at a local fault or at the end of the iovecs). */
static size_t local_copy(struct local_iter *it, char *kbuf, size_t n, bool to_user)
{
	size_t done = 0;
	while (done < n && it->seg < it->nr) {
		struct iovec_user *v = &it->iov[it->seg];
		if (it->off == v->iov_len) {
			it->seg++;
			it->off = 0;
			continue;
		}
		uint64_t ua = v->iov_base + it->off;
		size_t chunk = MIN(n - done, v->iov_len - it->off);
		chunk = MIN(chunk, PAGE_SIZE - (ua & (PAGE_SIZE - 1))); /* one local page */
		int err = to_user ? copy_to_user(ua, kbuf + done, chunk)
				  : copy_from_user(kbuf + done, ua, chunk);
		if (err)
			break;
		done += chunk;
		it->off += chunk;
		it->left -= chunk;
	}
	return done;
}

/* One remote iovec: 0, or -EFAULT (a remote page could not be pinned, or
 * the local memory faulted). */
static long rw_single_vec(struct mm *mm, uint64_t addr, uint64_t len, struct local_iter *it,
			  bool write)
{
	if (!len)
		return 0;
	uint64_t pa = addr & ~(uint64_t)(PAGE_SIZE - 1), start = addr - pa;
	if (!access_ok(addr, len))
		return -EFAULT;
	uint64_t nr_pages = (addr + len - 1) / PAGE_SIZE - addr / PAGE_SIZE + 1;
	while (nr_pages && it->left) {
		struct page *pages[PVM_MAX_PAGES];
		unsigned long want = (unsigned long)MIN(nr_pages, (uint64_t)PVM_MAX_PAGES);
		long got = pin_user_pages_remote(mm, pa, want, write ? FOLL_WRITE : 0, pages);
		if (got <= 0)
			return -EFAULT;
		uint64_t bytes = (uint64_t)got * PAGE_SIZE - start;
		if (bytes > len)
			bytes = len;
		long rc = 0;
		for (long i = 0; i < got && bytes && it->left; i++) {
			size_t n = (size_t)MIN(bytes, PAGE_SIZE - start);
			char *k = (char *)page_address(pages[i]) + start;
			size_t c = local_copy(it, k, n, !write);
			bytes -= c;
			len -= c;
			if (c < n && it->left) {
				rc = -EFAULT; /* the local memory */
				break;
			}
			start = 0;
		}
		unpin_user_pages_dirty(pages, (unsigned long)got, write);
		if (rc)
			return rc;
		nr_pages -= (uint64_t)got;
		pa += (uint64_t)got * PAGE_SIZE;
		start = 0;
	}
	return 0;
}

static long process_vm_rw(int pid, uint64_t lvec, uint64_t liovcnt, uint64_t rvec, uint64_t riovcnt,
			  uint64_t flags, bool write)
{
	if (flags)
		return -EINVAL;
	struct iovec_user *liov, *riov;
	uint64_t ltotal, rtotal;
	long rc = import_iovec_user(lvec, liovcnt, true, &liov, &ltotal);
	if (rc)
		return rc;
	if (!ltotal)
		goto free_l;
	rc = import_iovec_user(rvec, riovcnt, false, &riov, &rtotal);
	if (rc)
		goto free_l;
	if (!rtotal)
		goto free_r; /* no remote page: 0, the pid not even looked at */
	struct mm *mm = mm_access_pid(pid);
	if (!mm) {
		rc = -ESRCH;
		goto free_r;
	}
	struct local_iter it = { liov, liovcnt, 0, 0, ltotal };
	for (uint64_t i = 0; i < riovcnt && it.left && !rc; i++)
		rc = rw_single_vec(mm, riov[i].iov_base, riov[i].iov_len, &it, write);
	uint64_t copied = ltotal - it.left;
	if (copied)
		rc = (long)copied;
#ifndef MUTATION_PROCESS_VM_NO_MMGET
	mmput(mm);
#endif
free_r:
	kfree(riov);
free_l:
	kfree(liov);
	return rc;
}

long sys_process_vm_readv(int pid, uint64_t lvec, uint64_t liovcnt, uint64_t rvec, uint64_t riovcnt,
			  uint64_t flags)
{
	return process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, false);
}

long sys_process_vm_writev(int pid, uint64_t lvec, uint64_t liovcnt, uint64_t rvec,
			   uint64_t riovcnt, uint64_t flags)
{
	return process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, true);
}
