/*
 * mm/shmem.c - memory-backed files: the object behind MAP_SHARED |
 * MAP_ANONYMOUS (later memfd_create and a tmpfs), Linux's shmem.
 *
 * Why a file: memory that fork shares must be found by every process that
 * maps it, including for pages first touched after the fork. Anonymous
 * pages are found through each process's own page tables only, so a page
 * the child faults in would be the child's alone. A shared anonymous
 * mapping is therefore a mapping of an unnamed file whose page cache holds
 * the pages: a fault in any process looks up (or creates) the page at its
 * index, exactly like a shared file mapping, and the pages are file pages
 * (not PageAnon: never COW, never unshared by a pin, rmap through i_mmap).
 *
 * The data lives only in the page cache, so a page may never be dropped:
 * a new page is dirty from the start and "writeback" leaves it dirty (as
 * Linux's shmem does without swap), and invalidation, which drops only
 * clean pages, never drops one. The file and its pages go when the last
 * mapping goes (the VMAs hold the references).
 *
 * Locks: the inode's refs are atomic (no fs_lock: SFS never sees these
 * inodes); the page cache and i_mmap are mm/filemap.c's.
 */
#include "mm/shmem.h"
#include "mm/filemap.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "kernel/fs/fs.h"
#include "kernel/panic.h"

static int shmem_readpage(struct address_space *m, struct page *page)
{
	(void)m;
	set_page_dirty(page); /* zero-filled by the allocator; only copy of its data */
	return 0;
}

static int shmem_writepage(struct address_space *m, struct page *page)
{
	(void)m;
	set_page_dirty(page); /* nowhere to write it: it stays dirty, never dropped */
	return 0;
}

static const struct address_space_ops shmem_aops = {
	.readpage = shmem_readpage,
	.writepage = shmem_writepage,
};

bool is_shmem_inode(const struct inode *inode)
{
	return inode->mapping.a_ops == &shmem_aops;
}

struct inode *shmem_file_setup(uint64_t size)
{
	struct inode *inode = kzalloc(sizeof(*inode));
	if (!inode)
		return NULL;
	inode->d.size = size;
	inode->refs = 1;
	rwsem_init(&inode->i_rwsem);
	INIT_LIST_HEAD(&inode->node);
	mapping_init(&inode->mapping, inode, &shmem_aops);
	return inode;
}

static void shmem_put(struct inode *inode)
{
	int left = __atomic_sub_fetch(&inode->refs, 1, __ATOMIC_ACQ_REL);
	BUG_ON(left < 0);
	if (left)
		return;
	mapping_destroy(&inode->mapping); /* no VMA maps it any more */
	kfree(inode);
}

void mapped_file_get(struct inode *inode)
{
	if (is_shmem_inode(inode))
		__atomic_add_fetch(&inode->refs, 1, __ATOMIC_RELAXED);
	else
		inode_get(inode);
}

void mapped_file_put(struct inode *inode)
{
	if (is_shmem_inode(inode))
		shmem_put(inode);
	else
		inode_put(inode);
}
