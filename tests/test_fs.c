/*
 * tests/test_fs.c - the RAM disk, SFS, the page cache, file mappings and
 * dirty-bit writeback (R1, R2, R6).
 *
 *   initrd_files: the files mkfs put on the RAM disk read back right.
 *   namespace: create, write, read, truncate, unlink, mkdir; errors.
 *   nadav_race_madvise / nadav_race_munmap (seed 004, deterministic): CPU A
 *       writes through its TLB into a shared file mapping; CPU B zaps the
 *       PTE (MADV_DONTNEED / munmap) and pauses before the flush; CPU C runs
 *       writeback and drops the page; B goes on. No write A made before B's
 *       flush is lost (kills RMAP_BEFORE_FLUSH).
 *   nadav_race_stress: the same race, randomized and bounded, on 4 CPUs.
 *   data_integrity_model: random reads, writes, truncates and mapped writes
 *       against an in-memory model, with writeback and cache drops between.
 *   odirect_read_excludes_truncate: a truncate waits for an O_DIRECT read
 *       paused with its buffer pinned (i_rwsem shared), which then reads
 *       the file's data (ODIRECT_READ_NO_I_RWSEM).
 *   odirect_vs_fork: an O_DIRECT read whose buffer is forked and written
 *       meanwhile lands in the buffer of the process that asked for it.
 *   truncate_mapped_file: shrinking (and O_TRUNC) a file mapped shared and
 *       private unmaps the pages beyond the end from both, private copies
 *       included; their next fault is VM_FAULT_SIGBUS (mm/truncate.c).
 *   truncate_vs_fault_paused / fault_vs_truncate_paused (deterministic):
 *       truncate paused between its unmap and the page removal while a new
 *       mapping faults page 0; a fault paused after its size check while a
 *       truncate runs. No page is mapped or cached beyond the end.
 *   extend_zeroes_past_eof: bytes a mapping wrote past the end read as
 *       zeros once the file grows over them.
 *   truncate_mmap_stress: truncate, mmap, faults, mapped and write() writes,
 *       msync at once on 4 CPUs; then the file matches its model, no page
 *       is left mapped, fsck is clean.
 *   odirect_write_invalidates / odirect_write_racing_read: an O_DIRECT write
 *       writes back, unmaps and drops the cached pages of its range, before
 *       and after the transfer. odirect_read_writes_back_first: an O_DIRECT
 *       read sees the range's dirty cached data.
 *   zap_moves_dirty_bit_to_page (R2): writeback paused between page_mkclean
 *       and clearing PG_dirty while a write fault wants the PTE writable
 *       again: the fault waits for the page lock until the clear is done,
 *       and then leaves the page dirty (kills MKWRITE_UNLOCKED and
 *       CLEAN_FOR_IO_UNLOCKED: without the lock, the fault makes the PTE
 *       writable inside the window, which /bin/nadav turns into a lost
 *       write); every write reaches the disk through munmap, writeback and
 *       a cache drop.
 *   corrupt_image_refused: mounting a corrupt copy fails and writes nothing.
 *   fsck_clean: last: everything written back, the whole disk checks clean.
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/fs/fs.h"
#include "kernel/pause.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/stats.h"
#include "mm/kmalloc.h"
#include "drivers/ramdisk.h"
#include "kernel/smp.h"
#include "mm/mmu_gather.h"
#include "mm/filemap.h"
#include "arch/x86_64/asm.h"

/* No file system: a skip when no disk image was given, a failure when the
 * loader handed over an initrd.img that does not mount (the build's own
 * image is always mountable: a refusal there is a bug, not a reason to skip). */

static void initrd_files(struct ktest *t)
{
	REQUIRE_FS(t);
	struct file *f;
	KASSERT_EQ(t, vfs_open("/hello.txt", O_RDONLY, &f), 0);
	char buf[64] = { 0 };
	const char *want = "hello from the RAM disk\n";
	KEXPECT_EQ(t, vfs_pread(f, buf, sizeof(buf), 0), strlen(want));
	KEXPECT_EQ(t, memcmp(buf, want, strlen(want)), 0);
	vfs_close(f);
	KASSERT_EQ(t, vfs_open("/pattern.bin", O_RDONLY, &f), 0);
	KEXPECT_EQ(t, vfs_size(f), 65536);
	static uint8_t data[65536];
	KEXPECT_EQ(t, vfs_pread(f, data, sizeof(data), 0), 65536);
	for (int i = 0; i < 65536; i++)
		if (data[i] != (uint8_t)i) {
			KEXPECT_EQ(t, data[i], (uint8_t)i);
			break;
		}
	vfs_close(f);
}

static void namespace(struct ktest *t)
{
	REQUIRE_FS(t);
	struct file *f;
	KEXPECT_EQ(t, vfs_open("/nope", O_RDONLY, &f), -ENOENT);
	KEXPECT_EQ(t, vfs_open("relative", O_RDONLY, &f), -EINVAL);
	KEXPECT_EQ(t, vfs_open("/docs", O_RDWR, &f), -EISDIR);
	KEXPECT_EQ(t, vfs_mkdir("/ns"), 0);
	KEXPECT_EQ(t, vfs_mkdir("/ns"), -EEXIST);
	/* nlink counts directory entries: a subdirectory adds none to its
	 * parent (SFS has no ".."), and the root keeps 1 (fsck checks both). */
	KEXPECT_EQ(t, vfs_mkdir("/ns/sub"), 0);
	char err[160] = "";
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
	if (err[0])
		ktest_log(t, "fsck: %s", err);
	KEXPECT_EQ(t, vfs_unlink("/ns/sub"), 0);
	KASSERT_EQ(t, vfs_open("/ns/a.txt", O_RDWR | O_CREAT, &f), 0);
	KEXPECT_EQ(t, vfs_pwrite(f, "0123456789", 10, 5000), 10); /* a hole before */
	KEXPECT_EQ(t, vfs_size(f), 5010);
	char buf[16];
	KEXPECT_EQ(t, vfs_pread(f, buf, 4, 4998), 4);
	KEXPECT_EQ(t,
		   memcmp(buf,
			  "\0\0"
			  "01",
			  4),
		   0);
	KEXPECT_EQ(t, vfs_truncate(f, 5003), 0);
	KEXPECT_EQ(t, vfs_pread(f, buf, 16, 5000), 3);
	KEXPECT_EQ(t, vfs_truncate(f, 8192), 0); /* grows with zeros */
	KEXPECT_EQ(t, vfs_pread(f, buf, 4, 5002), 4);
	KEXPECT_EQ(t, memcmp(buf, "2\0\0\0", 4), 0);
	KEXPECT_EQ(t, vfs_fsync(f), 0);
	vfs_close(f);
	char longname[80];
	memset(longname, 'x', sizeof(longname));
	longname[0] = '/';
	longname[79] = 0;
	KEXPECT_EQ(t, vfs_open(longname, O_RDWR | O_CREAT, &f), -ENAMETOOLONG);
	KEXPECT_EQ(t, vfs_unlink("/ns"), -ENOTEMPTY);
	KEXPECT_EQ(t, vfs_unlink("/ns/a.txt"), 0);
	KEXPECT_EQ(t, vfs_open("/ns/a.txt", O_RDONLY, &f), -ENOENT);
	KEXPECT_EQ(t, vfs_unlink("/ns"), 0);
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
}

/* mkdir paused after finding its parent while another CPU removes that
 * (empty) parent: the mkdir must fail with -ENOENT (Linux's IS_DEADDIR),
 * not add an entry to the dead directory, whose inode would stay allocated
 * and unreachable (fsck: free inode count). Found by the fuzzer. */
struct dead_dir_mkdir {
	struct completion done;
	volatile int err;
};

static void dead_dir_mkdir_fn(void *arg)
{
	struct dead_dir_mkdir *m = arg;
	m->err = vfs_mkdir("/deaddir/sub");
	complete(&m->done);
}

static void create_in_removed_dir(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs (the paused CPU spins)");
	KASSERT_EQ(t, vfs_mkdir("/deaddir"), 0);
	struct dead_dir_mkdir m = { .err = 1 };
	init_completion(&m.done);
	pause_arm(PAUSE_SFS_PARENT_FOUND, NULL);
	thread_create("mkdir", dead_dir_mkdir_fn, &m, ktest_other_cpu(cpu_id(), 1));
	if (!pause_wait_reached(PAUSE_SFS_PARENT_FOUND, 5000)) {
		pause_release(PAUSE_SFS_PARENT_FOUND);
		ktest_fail(t, __FILE__, __LINE__, "mkdir never reached lookup_parent's end");
	} else {
		KEXPECT_EQ(t, vfs_unlink("/deaddir"), 0); /* empty: removed */
		pause_release(PAUSE_SFS_PARENT_FOUND);
	}
	wait_for_completion(&m.done);
	KEXPECT_EQ(t, m.err, -ENOENT);
	char err[160] = "";
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
	if (err[0])
		ktest_log(t, "fsck: %s", err);
}

/* Threads on every CPU create, write, unlink, mkdir and rmdir a small pool
 * of names at once for the stress budget: every operation gives a result
 * Linux could give, and afterwards the disk checks clean (free inode and
 * block counts, every inode reachable). It shows namespace races that hand
 * one caller another file's inode (a lookup and its inode reference in two
 * lock holds) or cache a stale copy of a freed inode; the system-call
 * fuzzer found those (100 s runs; this 1 s stress is a regression test, not
 * a reliable detector). */
struct ns_stress {
	volatile bool stop;
	volatile uint64_t ops, bad;
	atomic_t running;
	struct completion done;
};

static void ns_stress_fn(void *arg)
{
	struct ns_stress *st = arg;
	static const char *const names[] = { "/nss/a", "/nss/b", "/nss/d", "/nss/d/x", "/nss/d/y" };
	uint64_t r = (uint64_t)cpu_id() * 0x9e3779b97f4a7c15ull + 1;
	while (!st->stop) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		const char *n = names[r % 5];
		struct file *f;
		int e;
		switch ((r >> 8) % 4) {
		case 0:
			e = vfs_open(n, O_RDWR | O_CREAT, &f);
			if (!e) {
				char buf[64];
				memset(buf, (int)r, sizeof(buf));
				if (f->inode->d.mode == SFS_S_IFREG)
					vfs_pwrite(f, buf, sizeof(buf), (r >> 16) % 8192);
				vfs_close(f);
			} else if (e != -ENOENT && e != -EISDIR && e != -ENOTDIR) {
				st->bad++;
			}
			break;
		case 1:
			e = vfs_unlink(n);
			if (e && e != -ENOENT && e != -ENOTEMPTY && e != -ENOTDIR)
				st->bad++;
			break;
		case 2:
			e = vfs_mkdir(n);
			if (e && e != -EEXIST && e != -ENOENT && e != -ENOTDIR)
				st->bad++;
			break;
		default:
			e = vfs_open(n, O_RDONLY, &f);
			if (!e)
				vfs_close(f);
			else if (e != -ENOENT && e != -ENOTDIR)
				st->bad++;
			break;
		}
		st->ops++;
	}
	if (atomic_dec_and_test(&st->running))
		complete(&st->done);
}

static void namespace_stress(struct ktest *t)
{
	REQUIRE_FS(t);
	struct sfs_super sb0, sb1;
	KASSERT_EQ(t, vfs_mkdir("/nss"), 0);
	fs_statfs(&sb0);
	struct ns_stress st = { 0 };
	init_completion(&st.done);
	int n = nr_cpus_online < 2 ? 2 : nr_cpus_online;
	atomic_set(&st.running, n);
	for (int i = 0; i < n; i++)
		thread_create("ns-stress", ns_stress_fn, &st, i % nr_cpus_online);
	uint64_t end = ktime_get_ns() + ktest_stress_budget_ms() * 1000000ull;
	while (ktime_get_ns() < end) {
		sleep_ms(50);
		ktest_progress();
	}
	st.stop = true;
	wait_for_completion(&st.done);
	ktest_log(t, "%lu operations on %d threads", st.ops, n);
	KEXPECT_EQ(t, st.bad, 0);
	static const char *const all[] = { "/nss/d/x", "/nss/d/y", "/nss/a", "/nss/b", "/nss/d" };
	for (int i = 0; i < 5; i++)
		vfs_unlink(all[i]);
	KEXPECT_EQ(t, vfs_unlink("/nss"), 0);
	fs_drop_caches();
	fs_statfs(&sb1);
	KEXPECT_EQ(t, sb1.free_inodes, sb0.free_inodes + 1); /* /nss too */
	char err[160] = "";
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
	if (err[0])
		ktest_log(t, "fsck: %s", err);
}

/* ---- Nadav Amit's race ------------------------------------------------- */

enum { SLOTS = 512 };

struct writer {
	struct mm *mm;
	uint64_t addr;
	volatile bool stop;
	volatile uint64_t last; /* last value written successfully */
	volatile bool faulted;
	struct completion done;
};

/*
 * Writes 1, 2, 3, ... into slot (i % SLOTS) of the mapping. The first write
 * may fault the page in; every later one is made with interrupts off, where
 * a page fault is not handled (trap.c) and the access fails with -EFAULT: so
 * a write either goes through the TLB (a live or a stale entry) or fails at
 * once, and the writer never waits in the fault path for the page-table lock
 * the paused zapper holds.
 */
static void writer_fn(void *arg)
{
	struct writer *w = arg;
	use_mm(w->mm);
	if (put_user_u64(w->addr, 0))
		w->faulted = true;
	for (uint64_t i = 1; !w->stop && !w->faulted; i++) {
		unsigned long f = local_irq_save();
		int err = put_user_u64(w->addr + (i % SLOTS) * 8, i);
		local_irq_restore(f);
		if (err)
			w->faulted = true;
		else
			w->last = i;
	}
	unuse_mm(w->mm);
	complete(&w->done);
}

struct zapper {
	struct mm *mm;
	uint64_t addr;
	bool munmap;
	struct completion done;
};

static void zapper_fn(void *arg)
{
	struct zapper *z = arg;
	if (z->munmap)
		vm_munmap(z->mm, z->addr, PAGE_SIZE);
	else
		vm_madvise(z->mm, z->addr, PAGE_SIZE, MADV_DONTNEED);
	complete(&z->done);
}

struct cleaner {
	struct file *f;
	struct completion done;
};

static void cleaner_fn(void *arg)
{
	struct cleaner *c = arg;
	vfs_fdatasync(c->f);		  /* writeback: page_mkclean, write */
	vfs_fadvise_dontneed(c->f, 0, 0); /* and drop what is clean */
	complete(&c->done);
}

static struct file *fresh_file(struct ktest *t, const char *path, uint64_t size)
{
	struct file *f;
	vfs_unlink(path);
	if (vfs_open(path, O_RDWR | O_CREAT, &f))
		return NULL;
	static uint8_t zeros[4096];
	for (uint64_t pos = 0; pos < size; pos += sizeof(zeros))
		vfs_pwrite(f, zeros, sizeof(zeros), pos);
	vfs_fsync(f);
	return f;
}

/* Every slot holds the last value the writer put there: nothing lost. */
static void check_slots(struct ktest *t, struct file *f, uint64_t last)
{
	vfs_fsync(f);
	vfs_fadvise_dontneed(f, 0, 0); /* read back from the disk */
	static uint64_t v[SLOTS];
	KASSERT_EQ(t, vfs_pread(f, v, sizeof(v), 0), sizeof(v));
	int lost = 0;
	for (uint64_t k = 0; k < SLOTS; k++) {
		uint64_t want = last >= k ? last - ((last - k) % SLOTS) : 0;
		if (v[k] != want && lost++ < 3)
			ktest_fail(t, __FILE__, __LINE__,
				   "slot %lu holds %lu, the writer's last is %lu", k, v[k], want);
	}
	if (lost)
		ktest_log(t, "%d of %d slots lost their last write", lost, SLOTS);
}

static void drop_tlb_entry(void *addr)
{
	invlpg((unsigned long)addr); /* what a CPU may do to any entry at any time */
}

/* Waits (bounded) until cond or the writer stopped; false on a stall. */
#define WAIT_WRITER(w, cond)                                              \
	({                                                                \
		uint64_t __dl = ktime_get_ns() + 10000 * 1000000ull;      \
		while (!(cond) && !(w)->faulted && ktime_get_ns() < __dl) \
			sleep_ms(1);                                      \
		(bool)(cond);                                             \
	})

enum race_result { RACE_RAN, RACE_INCONCLUSIVE, RACE_ERROR };

/*
 * One try of the race. The writes that matter go through A's stale TLB entry
 * after the zapper has cleared the PTE and before its flush; if A's CPU drops
 * that entry early (the architecture allows it at any time; Bochs and real
 * CPUs do it, QEMU's TCG does not), the writer faults at once and the race
 * did not happen: the try is inconclusive, not a pass and not a hang.
 * drop_early forces that to show the detection works.
 */
static enum race_result nadav_race_once(struct ktest *t, bool munmap, bool drop_early)
{
	struct file *f = fresh_file(t, "/nadav.dat", PAGE_SIZE);
	if (!f) {
		ktest_fail(t, __FILE__, __LINE__, "cannot create /nadav.dat");
		return RACE_ERROR;
	}
	struct mm *mm = mm_alloc();
	int64_t a = mm ? vfs_mmap(mm, f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0) : 0;
	if (a <= 0) {
		ktest_fail(t, __FILE__, __LINE__, "cannot map /nadav.dat (%ld)", a);
		if (mm)
			mmput(mm);
		vfs_close(f);
		return RACE_ERROR;
	}
	static struct writer w;
	static struct zapper z;
	static struct cleaner c;
	w = (struct writer){ .mm = mm, .addr = (uint64_t)a };
	z = (struct zapper){ .mm = mm, .addr = (uint64_t)a, .munmap = munmap };
	c = (struct cleaner){ .f = f };
	init_completion(&w.done);
	init_completion(&z.done);
	init_completion(&c.done);
	int me = cpu_id(), cpu_b = ktest_other_cpu(me, 1), cpu_c = ktest_other_cpu(me, 2);
	enum race_result res = RACE_RAN;
	bool paused = false, zapper_started = false, cleaner_started = false;

	thread_create("writer", writer_fn, &w, me); /* shares our CPU: it is preemptible */
	if (!WAIT_WRITER(&w, w.last >= 1000)) {	    /* A's TLB holds a writable, dirty entry */
		ktest_fail(t, __FILE__, __LINE__, "the writer made no progress (last %lu)", w.last);
		res = RACE_ERROR;
		goto out;
	}
	pause_arm(PAUSE_TLB_FLUSH, mm);
	thread_create("zapper", zapper_fn, &z, cpu_b);
	zapper_started = true;
	paused = pause_wait_reached(PAUSE_TLB_FLUSH, 10000); /* PTE gone, no flush yet */
	if (!paused) {
		ktest_fail(t, __FILE__, __LINE__, "the zapper never reached the flush");
		res = RACE_ERROR;
		goto out;
	}
	if (drop_early)
		smp_call_function_single(me, drop_tlb_entry, (void *)a, true);
	thread_create("cleaner", cleaner_fn, &c, cpu_c);
	cleaner_started = true;
	for (int i = 0; i < 200 && !c.done.done; i++)
		sleep_ms(1); /* the cleaner finishes, or waits for the page-table lock */
	uint64_t seen = w.last;
	/* More writes through the stale entry; a fault means it is gone. */
	if (!WAIT_WRITER(&w, w.last >= seen + 2 * SLOTS))
		res = w.faulted ? RACE_INCONCLUSIVE : RACE_ERROR;
	if (res == RACE_ERROR)
		ktest_fail(t, __FILE__, __LINE__, "the writer stalled at %lu", w.last);
out:
	w.stop = true;
	wait_for_completion(&w.done);
	if (zapper_started) {
		pause_release(PAUSE_TLB_FLUSH);
		wait_for_completion(&z.done);
	}
	if (cleaner_started)
		wait_for_completion(&c.done);
	if (res == RACE_RAN)
		check_slots(t, f, w.last);
	if (!munmap || !zapper_started)
		vm_munmap(mm, a, PAGE_SIZE);
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/nadav.dat");
	return res;
}

enum { RACE_TRIES = 3 };

static void nadav_race(struct ktest *t, bool munmap)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs");
	sched_migrate(cpu_id());
	for (int try = 1; try <= RACE_TRIES; try++) {
		enum race_result r = nadav_race_once(t, munmap, false);
		if (r != RACE_INCONCLUSIVE)
			return;
		ktest_log(t, "try %d: the CPU dropped the stale TLB entry before the flush", try);
	}
	KTEST_SKIP(t, "inconclusive: the CPU dropped the stale TLB entry early in every try");
}

static void nadav_race_madvise(struct ktest *t)
{
	nadav_race(t, false);
}
static void nadav_race_munmap(struct ktest *t)
{
	nadav_race(t, true);
}

/* The detection itself: with the stale entry dropped on purpose before the
 * flush, a try must come out inconclusive (not pass, not hang). */
static void nadav_race_detects_early_drop(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs");
	sched_migrate(cpu_id());
	KEXPECT_EQ(t, nadav_race_once(t, false, true), RACE_INCONCLUSIVE);
	KEXPECT_EQ(t, nadav_race_once(t, true, true), RACE_INCONCLUSIVE);
}

/* ---- what a mapping may become (VM_MAY*) ---------------------------------- */

/*
 * A file opened read-only and mapped MAP_SHARED can never become writable:
 * not at mmap, not by a later mprotect (-EACCES, as Linux, checked before
 * any VMA changes), and a write through it fails. Mapped MAP_PRIVATE it may
 * (its writes go to private copies); a write-only file cannot be mapped at
 * all. MUTATION_NO_VM_MAY_CHECK lets the mprotect through.
 */
static void mprotect_respects_open_mode(struct ktest *t)
{
	REQUIRE_FS(t);
	struct file *w = fresh_file(t, "/ro.dat", 2 * PAGE_SIZE);
	KASSERT_NOT_NULL(t, w);
	struct file *f, *wo;
	KASSERT_EQ(t, vfs_open("/ro.dat", O_RDONLY, &f), 0);
	KASSERT_EQ(t, vfs_open("/ro.dat", O_WRONLY, &wo), 0);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t len = 2 * PAGE_SIZE;
	KEXPECT_EQ(t, vfs_mmap(mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0), -EACCES);
	KEXPECT_EQ(t, vfs_mmap(mm, wo, 0, len, PROT_READ, MAP_SHARED, 0), -EACCES);
	int64_t a = vfs_mmap(mm, f, 0, len, PROT_READ, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, vm_mprotect(mm, a, len, PROT_READ | PROT_WRITE), -EACCES);
	KEXPECT_EQ(t, vm_mprotect(mm, a + PAGE_SIZE, PAGE_SIZE, PROT_WRITE), -EACCES);
	KEXPECT_EQ(t, vm_mprotect(mm, a, len, PROT_NONE), 0); /* dropping rights is fine */
	KEXPECT_EQ(t, vm_mprotect(mm, a, len, PROT_READ), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a, 0x5a5a), -EFAULT);
	int64_t p = vfs_mmap(mm, f, 0, len, PROT_READ, MAP_PRIVATE, 0);
	KASSERT_GT(t, p, 0);
	KEXPECT_EQ(t, vm_mprotect(mm, p, len, PROT_READ | PROT_WRITE), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, p, 0x5a5a), 0); /* a private copy */
	mmput(mm);
	uint64_t v = 1;
	KEXPECT_EQ(t, vfs_pread(f, &v, sizeof(v), 0), sizeof(v));
	KEXPECT_EQ(t, v, 0); /* the file never changed */
	vfs_close(wo);
	vfs_close(f);
	vfs_close(w);
	vfs_unlink("/ro.dat");
}

/* ---- delayed rmaps stay in the bundle and the active batch --------------- */

/*
 * Zap more dirty shared file pages than the gather's bundle and first batch
 * hold, across a page-table boundary, while another CPU writes through
 * them. The delayed rmaps (R2) may sit only in the bundle and the active
 * batch (Linux 5df397dec7c4): __tlb_remove_page reports "full" rather than
 * start a further batch while any are pending, so tlb_flush_rmaps scans at
 * most TLB_RMAP_SCAN_BOUND entries under the page-table lock. Afterwards
 * every mapcount is back to zero and every page can be dropped from the
 * cache. MUTATION_DELAY_RMAP_ANY_BATCH (flagged entries in any batch,
 * scanned all under the lock) breaks the bound.
 */
enum { MANY = 600 };
#define MANY_ADDR (0x40000000ull - 300 * PAGE_SIZE) /* 300 pages each side of 1 GiB */

struct many_writer {
	struct mm *mm;
	volatile bool stop;
	volatile uint64_t passes;
	struct completion done;
};

static void many_writer_fn(void *arg)
{
	struct many_writer *w = arg;
	use_mm(w->mm);
	for (uint64_t v = 1; !w->stop; v++) {
		for (int i = 0; i < MANY && !w->stop; i++)
			if (put_user_u64(MANY_ADDR + (uint64_t)i * PAGE_SIZE, v))
				w->stop = true; /* munmap took the range */
		w->passes = v;
	}
	unuse_mm(w->mm);
	complete(&w->done);
}

static void delayed_rmap_zap(struct ktest *t, bool munmap)
{
	struct file *f = fresh_file(t, "/many.dat", (uint64_t)MANY * PAGE_SIZE);
	KASSERT_NOT_NULL(t, f);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	KASSERT_EQ(t,
		   vfs_mmap(mm, f, MANY_ADDR, (uint64_t)MANY * PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, 0),
		   (int64_t)MANY_ADDR);
	flusher_hold(); /* it would clean PTEs and hold page references meanwhile */
	static struct many_writer w;
	w = (struct many_writer){ .mm = mm };
	init_completion(&w.done);
	thread_create("many-writer", many_writer_fn, &w, ktest_other_cpu(cpu_id(), 1));
	uint64_t deadline = ktime_get_ns() + 20000000000ull;
	while (w.passes < 2 && !w.stop && ktime_get_ns() < deadline)
		sleep_ms(1); /* every page mapped and dirty in its PTE */
	KEXPECT_GE(t, w.passes, 2);
	uint64_t delayed = event_sum(EV_DELAYED_RMAP);
	tlb_rmap_scan_max = 0;
	if (munmap)
		KEXPECT_EQ(t, vm_munmap(mm, MANY_ADDR, (uint64_t)MANY * PAGE_SIZE), 0);
	else
		KEXPECT_EQ(t, vm_madvise(mm, MANY_ADDR, (uint64_t)MANY * PAGE_SIZE, MADV_DONTNEED),
			   0);
	uint64_t scanned = tlb_rmap_scan_max;
	w.stop = true;
	wait_for_completion(&w.done);
	if (!munmap)
		KEXPECT_EQ(t, vm_munmap(mm, MANY_ADDR, (uint64_t)MANY * PAGE_SIZE), 0);
	mmput(mm);
	KEXPECT_GE(t, event_sum(EV_DELAYED_RMAP) - delayed, MANY); /* the rule was exercised */
	KEXPECT_LE(t, scanned, TLB_RMAP_SCAN_BOUND);
	ktest_log(t, "%s: %lu delayed rmaps, at most %lu scanned under a lock (bound %lu)",
		  munmap ? "munmap" : "MADV_DONTNEED", event_sum(EV_DELAYED_RMAP) - delayed,
		  scanned, (uint64_t)TLB_RMAP_SCAN_BOUND);
	struct address_space *m = &f->inode->mapping;
	int mapped = 0;
	for (int i = 0; i < MANY; i++) {
		struct page *p = find_get_page(m, i);
		if (!p)
			continue;
		if (page_mapcount(p) != 0 && mapped++ < 3)
			ktest_fail(t, __FILE__, __LINE__, "page %d still has mapcount %d", i,
				   page_mapcount(p));
		put_page(p);
	}
	KEXPECT_EQ(t, vfs_fsync(f), 0);
	KEXPECT_EQ(t, vfs_fadvise_dontneed(f, 0, 0), MANY); /* nothing pinned in the cache */
	flusher_release();
	vfs_close(f);
	vfs_unlink("/many.dat");
}

static void delayed_rmaps_stay_in_two_batches(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	struct sfs_super sb;
	fs_statfs(&sb);
	if (sb.free_blocks < MANY + 16) /* the initrd image alone, without ramdisk.size= */
		KTEST_SKIP(t, "not enough free blocks on the RAM disk (boot with ramdisk.size=)");
	sched_migrate(cpu_id());
	delayed_rmap_zap(t, false);
	delayed_rmap_zap(t, true);
}

/* ---- randomized: writers, zappers and cleaners at once ------------------- */

struct stress {
	struct file *f;
	struct mm *mm;
	uint64_t addr;
	uint64_t deadline;
	volatile uint64_t last[2];
	struct completion done[4];
};

static void stress_writer(void *arg, int id)
{
	struct stress *s = arg;
	use_mm(s->mm);
	/* writer id owns slots id, id+2, id+4, ...: value i goes to slot id + 2*(i % 256) */
	for (uint64_t i = 1; ktime_get_ns() < s->deadline; i++) {
		uint64_t slot = id + 2 * (i % (SLOTS / 2));
		if (put_user_u64(s->addr + slot * 8, i) == 0)
			s->last[id] = i;
		else
			i--; /* unmapped right now: retry */
	}
	unuse_mm(s->mm);
}

static void stress_w0(void *a)
{
	struct stress *s = a;
	stress_writer(a, 0);
	complete(&s->done[0]);
}
static void stress_w1(void *a)
{
	struct stress *s = a;
	stress_writer(a, 1);
	complete(&s->done[1]);
}

static void stress_zapper(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = arch_cycles() | 1;
	while (ktime_get_ns() < s->deadline) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		vm_madvise(s->mm, s->addr, PAGE_SIZE, MADV_DONTNEED);
		sleep_ms(seed % 3);
	}
	complete(&s->done[2]);
}

static void stress_cleaner(void *arg)
{
	struct stress *s = arg;
	while (ktime_get_ns() < s->deadline) {
		vfs_fdatasync(s->f);
		vfs_fadvise_dontneed(s->f, 0, 0);
		sleep_ms(1);
	}
	complete(&s->done[3]);
}

static void nadav_race_stress(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	static struct stress s;
	s.f = fresh_file(t, "/stress.dat", PAGE_SIZE);
	KASSERT_NOT_NULL(t, s.f);
	s.mm = mm_alloc();
	int64_t a = vfs_mmap(s.mm, s.f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	s.addr = (uint64_t)a;
	s.last[0] = s.last[1] = 0;
	s.deadline = ktime_get_ns() + 1000000000ull;
	for (int i = 0; i < 4; i++)
		init_completion(&s.done[i]);
	thread_create("w0", stress_w0, &s, ktest_other_cpu(cpu_id(), 0));
	thread_create("w1", stress_w1, &s, ktest_other_cpu(cpu_id(), 1));
	thread_create("zap", stress_zapper, &s, ktest_other_cpu(cpu_id(), 2));
	thread_create("clean", stress_cleaner, &s, ktest_other_cpu(cpu_id(), 3));
	for (int i = 0; i < 4; i++)
		wait_for_completion(&s.done[i]);
	vfs_fsync(s.f);
	vm_munmap(s.mm, s.addr, PAGE_SIZE);
	vfs_fadvise_dontneed(s.f, 0, 0);
	static uint64_t v[SLOTS];
	KASSERT_EQ(t, vfs_pread(s.f, v, sizeof(v), 0), sizeof(v));
	int lost = 0;
	for (int id = 0; id < 2; id++) {
		uint64_t last = s.last[id];
		for (uint64_t j = 0; j < SLOTS / 2; j++) {
			uint64_t want = last >= j ? last - ((last - j) % (SLOTS / 2)) : 0;
			if (v[id + 2 * j] != want)
				lost++;
		}
	}
	ktest_log(t, "writers made %lu and %lu writes; %d slots lost", s.last[0], s.last[1], lost);
	KEXPECT_EQ(t, lost, 0);
	mmput(s.mm);
	vfs_close(s.f);
	vfs_unlink("/stress.dat");
}

/* ---- data integrity against a model -------------------------------------- */

enum { MODEL_SIZE = 96 * 1024 };

struct model_run {
	struct ktest *t;
	struct file *f;
	struct mm *mm;
	uint8_t *model;
	uint64_t size;
	uint64_t seed;
};

static uint64_t mrand(struct model_run *r)
{
	r->seed ^= r->seed << 13, r->seed ^= r->seed >> 7, r->seed ^= r->seed << 17;
	return r->seed;
}

static bool model_check(struct model_run *r, uint64_t pos, uint64_t len)
{
	static uint8_t buf[8192];
	len = MIN(len, sizeof(buf));
	ssize_t want = pos >= r->size ? 0 : (ssize_t)MIN(len, r->size - pos);
	ssize_t got = vfs_pread(r->f, buf, len, pos);
	if (got != want) {
		ktest_fail(r->t, __FILE__, __LINE__, "read of %lu at %lu: %ld bytes, model %ld",
			   len, pos, got, want);
		return false;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] != r->model[pos + i]) {
			ktest_fail(r->t, __FILE__, __LINE__, "byte %lu is %u, model %u", pos + i,
				   buf[i], r->model[pos + i]);
			return false;
		}
	}
	return true;
}

static void mapped_writes(void *arg)
{
	struct model_run *r = arg;
	if (r->size < PAGE_SIZE)
		return;
	uint64_t len = ALIGN_DOWN(r->size, PAGE_SIZE);
	int64_t a = vfs_mmap(current->mm, r->f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	if (a < 0) {
		ktest_fail(r->t, __FILE__, __LINE__, "mmap: %ld", a);
		return;
	}
	for (int k = 0; k < 16; k++) {
		uint64_t off = mrand(r) % len & ~7ull, v = mrand(r);
		if (put_user_u64(a + off, v) == 0)
			memcpy(r->model + off, &v, 8);
	}
	if (mrand(r) % 2)
		vm_msync(current->mm, a, len, MS_SYNC);
	vm_munmap(current->mm, a, len);
}

static void data_integrity_model(struct ktest *t)
{
	REQUIRE_FS(t);
	static struct model_run r;
	static uint8_t model[MODEL_SIZE];
	r = (struct model_run){ .t = t, .model = model, .seed = 0x1234567 ^ arch_cycles() };
	ktest_log(t, "seed %#lx", r.seed);
	memset(model, 0, sizeof(model));
	r.f = fresh_file(t, "/model.dat", 0);
	KASSERT_NOT_NULL(t, r.f);
	r.mm = mm_alloc();
	static uint8_t buf[8192];
	for (int op = 0; op < 400 && !t->failures; op++) {
		uint64_t pos = mrand(&r) % MODEL_SIZE, len = 1 + mrand(&r) % sizeof(buf);
		len = MIN(len, MODEL_SIZE - pos);
		switch (mrand(&r) % 8) {
		case 0:
		case 1: /* write */
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)mrand(&r);
			KASSERT_EQ(t, vfs_pwrite(r.f, buf, len, pos), len);
			memcpy(model + pos, buf, len);
			r.size = MAX(r.size, pos + len);
			break;
		case 2:
		case 3: /* read */
			model_check(&r, pos, len);
			break;
		case 4: /* truncate (zeros beyond the new end in the model) */
			KASSERT_EQ(t, vfs_truncate(r.f, pos), 0);
			if (pos < r.size)
				memset(model + pos, 0, r.size - pos);
			r.size = pos;
			break;
		case 5: /* writes through a shared mapping, from another CPU */
			ktest_run_in_mm(r.mm, CPU_ANY, mapped_writes, &r);
			break;
		case 6: /* writeback */
			KEXPECT_EQ(t, vfs_fsync(r.f), 0);
			break;
		case 7: /* drop the clean pages: the next reads come from the disk */
			vfs_fadvise_dontneed(r.f, 0, 0);
			break;
		}
	}
	for (uint64_t pos = 0; pos < r.size; pos += 4096)
		model_check(&r, pos, 4096);
	vfs_fsync(r.f);
	vfs_fadvise_dontneed(r.f, 0, 0);
	for (uint64_t pos = 0; pos < r.size; pos += 4096)
		model_check(&r, pos, 4096);
	mmput(r.mm);
	vfs_close(r.f);
	vfs_unlink("/model.dat");
}

/* ---- O_DIRECT into a buffer being forked ---------------------------------- */

struct dio_read {
	struct file *f;
	uint64_t buf;
	ssize_t got;
	struct completion done;
};

static void dio_reader(void *arg)
{
	struct dio_read *d = arg;
	d->got = vfs_pread_user(d->f, d->buf, PAGE_SIZE, 0);
}

static struct mm *dio_mm;

static void dio_read_entry(void *arg)
{
	struct dio_read *d = arg;
	ktest_run_in_mm(dio_mm, cpu_id(), dio_reader, d);
	complete(&d->done);
}

static void odirect_vs_fork(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct file *f;
	KASSERT_EQ(t, vfs_open("/pattern.bin", O_RDONLY | O_DIRECT, &f), 0);
	struct mm *parent = mm_alloc();
	uint64_t buf = ktest_mmap(parent, PAGE_SIZE), v;
	KASSERT_EQ(t, ktest_poke(parent, CPU_ANY, buf, 0x01d), 0);
	pause_arm(PAUSE_DIO_PINNED, parent);
	static struct dio_read d;
	d = (struct dio_read){ .f = f, .buf = buf };
	init_completion(&d.done);
	/* the reader: in the parent, on another CPU; pauses with the buffer pinned */
	dio_mm = parent;
	thread_create("dio", dio_read_entry, &d, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_DIO_PINNED, 10000));
	int err;
	struct mm *child = dup_mm(parent, &err); /* forks the buffer under the pin */
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, buf + 8, 0x2d), 0); /* and writes it */
	pause_release(PAUSE_DIO_PINNED);
	wait_for_completion(&d.done);
	KEXPECT_EQ(t, d.got, PAGE_SIZE);
	/* pattern.bin: byte i = i & 0xff */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, buf, &v), 0);
	KEXPECT_EQ(t, v, 0x0706050403020100ull); /* the data landed in the asker's buffer */
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, buf, &v), 0);
	KEXPECT_EQ(t, v, 0x01d); /* not in the child's */
	mmput(child);
	mmput(parent);
	vfs_close(f);
}

/* An O_DIRECT read holds i_rwsem shared: a truncate waits for it, so the
 * blocks it maps are not freed (and given to another file) under it. */
struct dio_truncate {
	struct file *f;
	volatile int done;
};

static void dio_truncator(void *arg)
{
	struct dio_truncate *d = arg;
	vfs_truncate(d->f, 0);
	WRITE_ONCE(d->done, 1);
}

static void odirect_read_excludes_truncate(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	const char *path = "/dio-trunc.bin";
	struct file *w, *f;
	KASSERT_EQ(t, vfs_open(path, O_RDWR | O_CREAT | O_TRUNC, &w), 0);
	static char data[PAGE_SIZE];
	memset(data, 'D', sizeof(data));
	KASSERT_EQ(t, vfs_pwrite(w, data, PAGE_SIZE, 0), PAGE_SIZE);
	KASSERT_EQ(t, vfs_fsync(w), 0);
	KASSERT_EQ(t, vfs_open(path, O_RDONLY | O_DIRECT, &f), 0);
	struct mm *mm = mm_alloc();
	uint64_t buf = ktest_mmap(mm, PAGE_SIZE), v;
	KASSERT_EQ(t, ktest_poke(mm, CPU_ANY, buf, 0), 0);
	pause_arm(PAUSE_DIO_PINNED, mm);
	static struct dio_read d;
	d = (struct dio_read){ .f = f, .buf = buf };
	init_completion(&d.done);
	dio_mm = mm;
	int threads = sched_thread_count();
	thread_create("dio", dio_read_entry, &d, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_DIO_PINNED, 10000));
	static struct dio_truncate tr;
	tr = (struct dio_truncate){ .f = w };
	thread_create("trunc", dio_truncator, &tr, CPU_ANY);
	sleep_ms(100);
	KEXPECT_EQ(t, READ_ONCE(tr.done), 0); /* waits for the read */
	pause_release(PAUSE_DIO_PINNED);
	wait_for_completion(&d.done);
	KEXPECT_EQ(t, d.got, PAGE_SIZE);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, buf, &v), 0);
	KEXPECT_EQ(t, v, 0x4444444444444444ull); /* the file's data, read whole */
	ktest_wait_threads(threads);
	KEXPECT_EQ(t, READ_ONCE(tr.done), 1);
	KEXPECT_EQ(t, vfs_size(w), 0);
	mmput(mm);
	vfs_close(f);
	vfs_close(w);
	vfs_unlink(path);
}

/* ---- truncate against mappings and faults (mm/truncate.c) ----------------- */

/* A fault at addr of mm from this thread (any thread may fault an mm in):
 * 0, VM_FAULT_SIGBUS (a file page beyond the end), -EFAULT (no VMA), ... */
static int fault_at(struct mm *mm, uint64_t addr, unsigned flags)
{
	down_read(&mm->mmap_lock);
	struct vm_area_struct *v = find_vma(mm, addr);
	int r = v && v->vm_start <= addr ? handle_mm_fault(v, addr, flags) : -EFAULT;
	up_read(&mm->mmap_lock);
	return r;
}

/* A present PTE maps addr in mm. */
static bool pte_mapped_at(struct mm *mm, uint64_t addr)
{
	spin_lock(&mm->page_table_lock);
	pte_t *pte = walk_pte(mm, addr);
	bool r = pte && pte_present(*pte);
	spin_unlock(&mm->page_table_lock);
	return r;
}

/* Every cached page of f has page_mapcount 0; returns how many do not. */
static int mapped_cached_pages(struct ktest *t, struct file *f)
{
	struct address_space *m = &f->inode->mapping;
	int bad = 0;
	struct page *p;
	for (uint64_t i = 0; (p = find_get_next_page(m, &i, ~0ull)); i++) {
		if (page_mapcount(p) && bad++ < 3)
			ktest_fail(t, __FILE__, __LINE__, "cached page %lu still has mapcount %d",
				   i, page_mapcount(p));
		put_page(p);
	}
	return bad;
}

/*
 * Shrinking a mapped file: the pages beyond the new end leave every mapping,
 * shared and private (the private copy made by a write too, as Linux's
 * even_cows), their next access is VM_FAULT_SIGBUS; the pages before it stay
 * mapped with their data, the rest of the last page reads as zeros; O_TRUNC
 * of a mapped file works the same way; a later extension shows zeros through
 * the old mappings. Before mm/truncate.c this truncate returned -EBUSY.
 * Kills TRUNCATE_NO_UNMAP (remove_page finds a mapped page: BUG) and
 * TRUNCATE_KEEPS_COWS (the private copy stays mapped).
 */
static void truncate_mapped_file(struct ktest *t)
{
	REQUIRE_FS(t);
	const uint64_t len = 3 * PAGE_SIZE;
	struct file *f = fresh_file(t, "/trunc.dat", len);
	KASSERT_NOT_NULL(t, f);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t sh = vfs_mmap(mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	int64_t pr = vfs_mmap(mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	KASSERT_GT(t, sh, 0);
	KASSERT_GT(t, pr, 0);
	uint64_t v;
	for (uint64_t i = 0; i < 3; i++)
		KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, sh + i * PAGE_SIZE, 0x1110 + i), 0);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pr + PAGE_SIZE, &v), 0); /* the cache's page */
	KEXPECT_EQ(t, v, 0x1111);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, pr + 2 * PAGE_SIZE, 0xc0c0), 0); /* a COW copy */

	KEXPECT_EQ(t, vfs_truncate(f, PAGE_SIZE + 100), 0);
	KEXPECT_FALSE(t, pte_mapped_at(mm, sh + 2 * PAGE_SIZE));
	KEXPECT_FALSE(t, pte_mapped_at(mm, pr + 2 * PAGE_SIZE)); /* even the private copy */
	KEXPECT_EQ(t, fault_at(mm, sh + 2 * PAGE_SIZE, 0), VM_FAULT_SIGBUS);
	KEXPECT_EQ(t, fault_at(mm, pr + 2 * PAGE_SIZE, FAULT_FLAG_WRITE), VM_FAULT_SIGBUS);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pr + 2 * PAGE_SIZE, &v), -EFAULT);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, sh, &v), 0);
	KEXPECT_EQ(t, v, 0x1110);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, sh + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 0x1111);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pr + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 0x1111);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, sh + PAGE_SIZE + 200, &v), 0);
	KEXPECT_EQ(t, v, 0); /* past the end in the last page: zeros */
	struct page *gone = find_get_page(&f->inode->mapping, 2);
	KEXPECT_TRUE(t, gone == NULL);
	if (gone)
		put_page(gone);
	/* The data written through the mapping before the truncate is kept. */
	KEXPECT_EQ(t, vfs_fsync(f), 0);
	vfs_fadvise_dontneed(f, 0, 0);
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, PAGE_SIZE), 8);
	KEXPECT_EQ(t, v, 0x1111);

	struct file *g;
	KEXPECT_EQ(t, vfs_open("/trunc.dat", O_RDWR | O_TRUNC, &g), 0); /* O_TRUNC, mapped */
	if (g)
		vfs_close(g);
	KEXPECT_EQ(t, vfs_size(f), 0);
	KEXPECT_FALSE(t, pte_mapped_at(mm, sh));
	KEXPECT_FALSE(t, pte_mapped_at(mm, pr + PAGE_SIZE));
	KEXPECT_EQ(t, fault_at(mm, sh, 0), VM_FAULT_SIGBUS);
	KEXPECT_EQ(t, fault_at(mm, pr + PAGE_SIZE, 0), VM_FAULT_SIGBUS);
	KEXPECT_EQ(t, mapped_cached_pages(t, f), 0);

	KEXPECT_EQ(t, vfs_truncate(f, len), 0); /* grows again: zeros, not the old data */
	for (uint64_t i = 0; i < 3; i++) {
		KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, sh + i * PAGE_SIZE, &v), 0);
		KEXPECT_EQ(t, v, 0);
		KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pr + i * PAGE_SIZE, &v), 0);
		KEXPECT_EQ(t, v, 0);
	}
	mmput(mm);
	KEXPECT_EQ(t, mapped_cached_pages(t, f), 0);
	vfs_close(f);
	vfs_unlink("/trunc.dat");
}

struct truncator {
	struct file *f;
	uint64_t size;
	int ret;
	struct completion done;
};

static void truncator_fn(void *arg)
{
	struct truncator *tr = arg;
	tr->ret = vfs_truncate(tr->f, tr->size);
	complete(&tr->done);
}

struct faulter {
	struct mm *mm;
	uint64_t addr;
	unsigned flags;
	int ret;
	struct completion done;
};

static void faulter_fn(void *arg)
{
	struct faulter *fa = arg;
	fa->ret = fault_at(fa->mm, fa->addr, fa->flags);
	complete(&fa->done);
}

static bool rwsem_has_waiters(struct rwsem *s)
{
	return READ_ONCE(s->wq.waiters.next) != &s->wq.waiters;
}

/*
 * The race of issue 9, forced: truncate(0) pauses after it set the size and
 * unmapped the range (PAUSE_TRUNC_UNMAPPED), before the pages leave the
 * cache. Meanwhile another process maps the file (a VMA truncate's rmap
 * walk never saw) and faults page 0 on another CPU. The fault must not map
 * a page the truncate is about to drop (remove_page's BUG): it waits for
 * the truncate (invalidate_lock) or sees the new size, and ends with
 * VM_FAULT_SIGBUS. At the pause the earlier mapping is already gone (kills
 * TRUNCATE_NO_UNMAP by a failed expectation, then by the BUG).
 */
static void truncate_vs_fault_paused(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	const uint64_t len = 2 * PAGE_SIZE;
	struct file *f = fresh_file(t, "/tvf.dat", len);
	KASSERT_NOT_NULL(t, f);
	struct address_space *m = &f->inode->mapping;
	struct mm *a_mm = mm_alloc(), *b_mm = mm_alloc();
	KASSERT_TRUE(t, a_mm && b_mm);
	int64_t a = vfs_mmap(a_mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, ktest_poke(a_mm, CPU_ANY, a, 0xa0), 0);
	KEXPECT_EQ(t, ktest_poke(a_mm, CPU_ANY, a + PAGE_SIZE, 0xa1), 0);
	struct page *p0 = find_get_page(m, 0), *p1 = find_get_page(m, 1);
	KASSERT_TRUE(t, p0 && p1);
	KEXPECT_EQ(t, page_mapcount(p0), 1);

	static struct truncator tr;
	static struct faulter fa;
	tr = (struct truncator){ .f = f, .size = 0 };
	init_completion(&tr.done);
	pause_arm(PAUSE_TRUNC_UNMAPPED, m);
	thread_create("truncate", truncator_fn, &tr, ktest_other_cpu(cpu_id(), 1));
	bool paused = pause_wait_reached(PAUSE_TRUNC_UNMAPPED, 10000);
	KEXPECT_TRUE(t, paused);
	bool fault_started = false;
	if (paused) {
		KEXPECT_EQ(t, vfs_size(f), 0);
		KEXPECT_FALSE(t, pte_mapped_at(a_mm, a));
		KEXPECT_FALSE(t, pte_mapped_at(a_mm, a + PAGE_SIZE));
		KEXPECT_EQ(t, page_mapcount(p0), 0);
		KEXPECT_EQ(t, page_mapcount(p1), 0);
		/* A mapping made now, and a fault on page 0 on another CPU. */
		int64_t b = vfs_mmap(b_mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
		KEXPECT_GT(t, b, 0);
		fa = (struct faulter){ .mm = b_mm, .addr = (uint64_t)b, .flags = FAULT_FLAG_WRITE };
		init_completion(&fa.done);
		if (b > 0) {
			thread_create("fault", faulter_fn, &fa, ktest_other_cpu(cpu_id(), 2));
			fault_started = true;
			/* The fault finished, or it waits for the truncate. */
			uint64_t dl = ktime_get_ns() + 10000 * 1000000ull;
			while (!fa.done.done && !rwsem_has_waiters(&m->invalidate_lock) &&
			       ktime_get_ns() < dl)
				sleep_ms(1);
			ktest_log(t, "the fault %s while the truncate was paused",
				  fa.done.done ? "ended" : "waited for invalidate_lock");
		}
	}
	pause_release(PAUSE_TRUNC_UNMAPPED);
	wait_for_completion(&tr.done);
	KEXPECT_EQ(t, tr.ret, 0);
	if (fault_started) {
		wait_for_completion(&fa.done);
		KEXPECT_EQ(t, fa.ret, VM_FAULT_SIGBUS);
		KEXPECT_FALSE(t, pte_mapped_at(b_mm, fa.addr));
	}
	KEXPECT_EQ(t, m->nrpages, 0);
	KEXPECT_TRUE(t, p0->mapping == NULL && p1->mapping == NULL); /* left the cache */
	put_page(p0);
	put_page(p1);
	mmput(a_mm);
	mmput(b_mm);
	vfs_close(f);
	vfs_unlink("/tvf.dat");
}

/*
 * The other order: a fault checks i_size (two pages) and pauses before it
 * looks the page up (PAUSE_FILE_FAULT); then truncate(0) runs on another
 * CPU. The fault holds invalidate_lock from its size check until its PTE is
 * in place, so the truncate must wait for it, and then zap what it mapped.
 * Afterwards nothing maps or caches a page beyond the end. Kills
 * FAULT_SIZE_CHECK_UNLOCKED (the size checked before taking the lock: the
 * truncate runs through, then the fault reads page 0 back in and maps it
 * beyond the end).
 */
static void fault_vs_truncate_paused(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	const uint64_t len = 2 * PAGE_SIZE;
	struct file *f = fresh_file(t, "/fvt.dat", len);
	KASSERT_NOT_NULL(t, f);
	struct address_space *m = &f->inode->mapping;
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t b = vfs_mmap(mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, b, 0);
	vfs_fadvise_dontneed(f, 0, 0); /* the fault reads page 0 in from the disk */

	static struct truncator tr;
	static struct faulter fa;
	fa = (struct faulter){ .mm = mm, .addr = (uint64_t)b, .flags = FAULT_FLAG_WRITE };
	tr = (struct truncator){ .f = f, .size = 0 };
	init_completion(&fa.done);
	init_completion(&tr.done);
	pause_arm(PAUSE_FILE_FAULT, mm);
	thread_create("fault", faulter_fn, &fa, ktest_other_cpu(cpu_id(), 1));
	bool paused = pause_wait_reached(PAUSE_FILE_FAULT, 10000);
	KEXPECT_TRUE(t, paused);
	bool waited = false;
	if (paused) {
		thread_create("truncate", truncator_fn, &tr, ktest_other_cpu(cpu_id(), 2));
		uint64_t dl = ktime_get_ns() + 10000 * 1000000ull;
		while (!tr.done.done && !READ_ONCE(m->invalidate_lock.writers_waiting) &&
		       ktime_get_ns() < dl)
			sleep_ms(1);
		waited = !tr.done.done && READ_ONCE(m->invalidate_lock.writers_waiting);
	}
	pause_release(PAUSE_FILE_FAULT);
	wait_for_completion(&fa.done);
	if (paused)
		wait_for_completion(&tr.done);
	KEXPECT_TRUE(t, waited);  /* the truncate waited for the fault in flight */
	KEXPECT_EQ(t, fa.ret, 0); /* it came first */
	KEXPECT_EQ(t, tr.ret, 0);
	KEXPECT_EQ(t, vfs_size(f), 0);
	KEXPECT_FALSE(t, pte_mapped_at(mm, b)); /* what the fault mapped, truncate zapped */
	KEXPECT_EQ(t, m->nrpages, 0);
	KEXPECT_EQ(t, fault_at(mm, b, 0), VM_FAULT_SIGBUS);
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/fvt.dat");
}

/*
 * Bytes a shared mapping writes past the end of the file (in the page that
 * straddles it) are not file data: when the file grows over them, by
 * truncate or by a write() past the end, they read as zeros, whether the
 * page stayed cached or went to the disk and was dropped (Linux:
 * pagecache_isize_extended). Kills ISIZE_EXTEND_NO_ZERO.
 */
static void extend_zeroes_past_eof(struct ktest *t)
{
	REQUIRE_FS(t);
	struct file *f = fresh_file(t, "/eof.dat", 0);
	KASSERT_NOT_NULL(t, f);
	static uint8_t buf[5000];
	memset(buf, 0x55, sizeof(buf));
	KASSERT_EQ(t, vfs_pwrite(f, buf, 5000, 0), 5000);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vfs_mmap(mm, f, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	uint64_t v = 1;
	/* 1: the page stays cached; extended by truncate */
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + 6000, 0xbad1), 0);
	KEXPECT_EQ(t, vfs_truncate(f, 2 * PAGE_SIZE), 0);
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, 6000), 8);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, a + 4992, &v), 0);
	KEXPECT_EQ(t, v, 0x5555555555555555ull); /* the data before the old end stays */
	/* 2: written back, dropped, read in again; extended by write() */
	KEXPECT_EQ(t, vfs_truncate(f, 5000), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + 6000, 0xbad2), 0);
	KEXPECT_EQ(t, vm_msync(mm, a, 2 * PAGE_SIZE, MS_SYNC), 0);
	KEXPECT_EQ(t, vm_munmap(mm, a, 2 * PAGE_SIZE), 0);
	vfs_fadvise_dontneed(f, 0, 0);
	KEXPECT_EQ(t, vfs_pwrite(f, "z", 1, 8000), 1);
	v = 1;
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, 6000), 8);
	KEXPECT_EQ(t, v, 0);
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/eof.dat");
}

/* ---- randomized: truncate, mmap, fault, write, msync at once -------------- */

/*
 * One file; on up to 4 CPUs at once, for ktest.stress_ms:
 *   truncator  truncates to random sizes within [SAFE, END) (shrinks and
 *              extends, unaligned), fsync and fadvise(DONTNEED) now and then;
 *   mapper     maps the whole file shared, writes its slots of the safe part
 *              through the mapping (every write must succeed), writes and
 *              reads the rest (SIGBUS is fine there), msync, MADV_DONTNEED,
 *              munmap, again;
 *   writer     write()s its slots of the safe part, and random bytes beyond;
 *   private    maps the file private, reads the safe part (must succeed),
 *              writes anywhere (COW copies; SIGBUS past the end), writeback.
 * Deterministic afterwards: the first SAFE bytes are never truncated and each
 * u64 slot there has one owner, so it holds that owner's last write; after a
 * final truncate to SAFE and back to END the rest reads as zeros. Every
 * cached page has mapcount 0 once the mappings are gone, and fsck is clean.
 */
enum { TS_SAFE_PAGES = 8, TS_PAGES = 32 };
#define TS_SAFE	 ((uint64_t)TS_SAFE_PAGES * PAGE_SIZE)
#define TS_END	 ((uint64_t)TS_PAGES * PAGE_SIZE)
#define TS_HALF	 (TS_SAFE / 16) /* slots per owner */
#define TS_SLOTS (TS_SAFE / 8)

struct tstress {
	struct file *f;
	struct mm *mm[2];
	uint64_t start;
	volatile uint64_t last[2]; /* mapper (even slots), writer (odd slots) */
	volatile uint64_t rounds[4], sigbus[2];
	volatile int errors;
	struct completion done[4];
};

static uint64_t ts_rand(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static void ts_error(struct tstress *s, const char *what, int64_t v)
{
	if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_SEQ_CST) < 3)
		printk("truncate_mmap_stress: %s (%ld)\n", what, v);
}

static uint64_t ts_scratch_off(uint64_t *seed)
{
	return TS_SAFE + (ts_rand(seed) % (TS_END - TS_SAFE) & ~7ull);
}

static void ts_truncator(void *arg)
{
	struct tstress *s = arg;
	uint64_t seed = arch_cycles() | 1, r, n = 0;
	for (r = 0; ktest_stress_more(s->start, r, 10, ~0ull); r++) {
		for (int k = 0; k < 4; k++, n++) {
			uint64_t size = TS_SAFE + ts_rand(&seed) % (TS_END - TS_SAFE + 1);
			int e = vfs_truncate(s->f, size);
			if (e)
				ts_error(s, "truncate", e);
			yield();
		}
		if (ts_rand(&seed) % 2)
			vfs_fsync(s->f);
		else
			vfs_fadvise_dontneed(s->f, 0, 0);
		sleep_ms(1); /* let the others at the new size */
	}
	s->rounds[0] = n;
	complete(&s->done[0]);
}

static void ts_mapper(void *arg)
{
	struct tstress *s = arg;
	struct mm *mm = s->mm[0];
	use_mm(mm);
	uint64_t seed = arch_cycles() | 1, i = 1, r;
	for (r = 0; ktest_stress_more(s->start, r, 10, ~0ull); r++) {
		int64_t a = vfs_mmap(mm, s->f, 0, TS_END, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
		if (a < 0) {
			ts_error(s, "mapper: mmap", a);
			break;
		}
		for (int k = 0; k < 64; k++, i++) {
			uint64_t slot = 2 * (i % TS_HALF), v;
			int e = put_user_u64(a + slot * 8, i);
			if (e) {
				ts_error(s, "mapper: write to the safe part", e);
				break;
			}
			s->last[0] = i;
			uint64_t off = ts_scratch_off(&seed);
			if (put_user_u64(a + off, ts_rand(&seed)) || get_user_u64(&v, a + off))
				s->sigbus[0]++;
		}
		switch (ts_rand(&seed) % 3) {
		case 0:
			vm_msync(mm, a, TS_END, MS_SYNC);
			break;
		case 1:
			vm_madvise(mm, a, TS_END, MADV_DONTNEED);
			break;
		}
		vm_munmap(mm, a, TS_END);
	}
	unuse_mm(mm);
	s->rounds[1] = r;
	complete(&s->done[1]);
}

static void ts_writer(void *arg)
{
	struct tstress *s = arg;
	uint64_t seed = arch_cycles() | 1, i = 1, r;
	for (r = 0; ktest_stress_more(s->start, r, 10, ~0ull); r++) {
		for (int k = 0; k < 64; k++, i++) {
			uint64_t slot = 2 * (i % TS_HALF) + 1;
			ssize_t n = vfs_pwrite(s->f, &i, 8, slot * 8);
			if (n != 8) {
				ts_error(s, "writer: write to the safe part", n);
				break;
			}
			s->last[1] = i;
		}
		uint64_t junk = ts_rand(&seed);
		vfs_pwrite(s->f, &junk, 8, ts_scratch_off(&seed));
		if (ts_rand(&seed) % 4 == 0)
			vfs_fdatasync(s->f);
	}
	s->rounds[2] = r;
	complete(&s->done[2]);
}

static void ts_private(void *arg)
{
	struct tstress *s = arg;
	struct mm *mm = s->mm[1];
	use_mm(mm);
	uint64_t seed = arch_cycles() | 1, r;
	for (r = 0; ktest_stress_more(s->start, r, 10, ~0ull); r++) {
		int64_t a = vfs_mmap(mm, s->f, 0, TS_END, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
		if (a < 0) {
			ts_error(s, "private: mmap", a);
			break;
		}
		for (int k = 0; k < 32; k++) {
			uint64_t v, off = ts_rand(&seed) % TS_SAFE & ~7ull;
			int e = get_user_u64(&v, a + off);
			if (e)
				ts_error(s, "private: read of the safe part", e);
			if (ts_rand(&seed) % 2 && put_user_u64(a + off, v ^ 1))
				ts_error(s, "private: COW write in the safe part", -EFAULT);
			off = ts_scratch_off(&seed);
			if (ts_rand(&seed) % 2 ? put_user_u64(a + off, 1)
					       : get_user_u64(&v, a + off))
				s->sigbus[1]++;
		}
		vm_munmap(mm, a, TS_END);
		if (ts_rand(&seed) % 2)
			writeback_all();
	}
	unuse_mm(mm);
	s->rounds[3] = r;
	complete(&s->done[3]);
}

static void truncate_mmap_stress(struct ktest *t)
{
	REQUIRE_FS(t);
	static struct tstress s;
	memset((void *)&s, 0, sizeof(s));
	s.f = fresh_file(t, "/tstress.dat", TS_END);
	KASSERT_NOT_NULL(t, s.f);
	s.mm[0] = mm_alloc();
	s.mm[1] = mm_alloc();
	KASSERT_TRUE(t, s.mm[0] && s.mm[1]);
	for (int i = 0; i < 4; i++)
		init_completion(&s.done[i]);
	void (*fn[4])(void *) = { ts_truncator, ts_mapper, ts_writer, ts_private };
	static const char *const names[4] = { "ts-trunc", "ts-map", "ts-write", "ts-private" };
	s.start = ktime_get_ns();
	for (int i = 0; i < 4; i++)
		thread_create(names[i], fn[i], &s, ktest_other_cpu(cpu_id(), i + 1));
	for (int i = 0; i < 4; i++)
		wait_for_completion(&s.done[i]);
	ktest_log(t,
		  "%lu truncates, %lu map rounds (%lu SIGBUS), %lu write rounds, %lu private "
		  "rounds (%lu SIGBUS); last writes %lu mapped, %lu write()",
		  s.rounds[0], s.rounds[1], s.sigbus[0], s.rounds[2], s.rounds[3], s.sigbus[1],
		  s.last[0], s.last[1]);
	KEXPECT_EQ(t, s.errors, 0);
	mmput(s.mm[0]);
	mmput(s.mm[1]);
	KEXPECT_EQ(t, mapped_cached_pages(t, s.f), 0);
	/* Quiesced: truncate to the safe part and grow again, then from the disk. */
	KEXPECT_EQ(t, vfs_truncate(s.f, TS_SAFE), 0);
	KEXPECT_EQ(t, vfs_truncate(s.f, TS_END), 0);
	KEXPECT_EQ(t, vfs_fsync(s.f), 0);
	vfs_fadvise_dontneed(s.f, 0, 0);
	static uint64_t v[TS_END / 8];
	KASSERT_EQ(t, vfs_pread(s.f, v, TS_END, 0), TS_END);
	int bad = 0;
	for (uint64_t j = 0; j < TS_SLOTS; j++) {
		uint64_t owner = j % 2, q = j / 2, last = s.last[owner];
		uint64_t want = last >= q ? last - ((last - q) % TS_HALF) : 0;
		if (v[j] != want && bad++ < 3)
			ktest_fail(t, __FILE__, __LINE__,
				   "slot %lu holds %lu, its owner's last is %lu", j, v[j], want);
	}
	for (uint64_t j = TS_SLOTS; j < TS_END / 8; j++)
		if (v[j] && bad++ < 3)
			ktest_fail(t, __FILE__, __LINE__, "byte %lu past the truncation holds %#lx",
				   j * 8, v[j]);
	char err[160] = "";
	int r = fs_sync_and_check(err, sizeof(err));
	if (r)
		ktest_log(t, "fsck: %s", err);
	KEXPECT_EQ(t, r, 0);
	vfs_close(s.f);
	vfs_unlink("/tstress.dat");
}

/* ---- O_DIRECT against cached and mapped pages ------------------------------ */

struct dio_op {
	struct file *f;
	uint64_t buf, len, pos;
	bool write;
	ssize_t ret;
	struct completion done;
};

static void dio_op_fn(void *arg)
{
	struct dio_op *d = arg;
	d->ret = d->write ? vfs_pwrite_user(d->f, d->buf, d->len, d->pos)
			  : vfs_pread_user(d->f, d->buf, d->len, d->pos);
}

static ssize_t dio_in_mm(struct mm *mm, struct file *f, bool write, uint64_t buf, uint64_t len,
			 uint64_t pos)
{
	struct dio_op d = { .f = f, .buf = buf, .len = len, .pos = pos, .write = write };
	ktest_run_in_mm(mm, CPU_ANY, dio_op_fn, &d);
	return d.ret;
}

/*
 * An O_DIRECT write over a page that is cached, mapped shared and dirty:
 * the dirty data goes to the disk first, the page is unmapped and dropped,
 * so a read through the existing mapping faults the new data in, a later
 * write through it changes only its own bytes, and after msync and a cache
 * drop the disk holds the O_DIRECT data (with that later write). The same
 * for a page dirtied by write() and not mapped. A private mapping keeps the
 * copy a write made (its own data, as Linux's even_cows = false) and sees
 * the new data in a page it had only read. Before this, the mapped page
 * kept the old data and its next writeback put it back on the disk. Kills
 * ODIRECT_NO_INVALIDATE and ODIRECT_ZAPS_COWS.
 */
static void odirect_write_invalidates(struct ktest *t)
{
	REQUIRE_FS(t);
	const uint64_t len = 2 * PAGE_SIZE;
	struct file *f = fresh_file(t, "/dio.dat", len), *d;
	KASSERT_NOT_NULL(t, f);
	KASSERT_EQ(t, vfs_open("/dio.dat", O_RDWR | O_DIRECT, &d), 0);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vfs_mmap(mm, f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	uint64_t buf = ktest_mmap(mm, PAGE_SIZE), v;
	KASSERT_NE(t, buf, 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a, 0x01d0), 0); /* dirty, mapped */
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + 8, 0x01d8), 0);
	KEXPECT_EQ(t, vfs_pwrite(f, "oldoldol", 8, PAGE_SIZE), 8); /* dirty, not mapped */
	/* Private mappings: a copy made by a write is the process's own data
	 * and stays; a page it only read is the cache's and goes. */
	int64_t pv = vfs_mmap(mm, f, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	KASSERT_GT(t, pv, 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, pv + 24, 0xc0c0), 0);    /* copy of page 0 */
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pv + PAGE_SIZE, &v), 0); /* page 1, read */
	KEXPECT_EQ(t, memcmp(&v, "oldoldol", 8), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, buf, 0xd10), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, buf + 8, 0xd18), 0);
	KEXPECT_EQ(t, dio_in_mm(mm, d, true, buf, PAGE_SIZE, 0), PAGE_SIZE);
	KEXPECT_EQ(t, dio_in_mm(mm, d, true, buf, PAGE_SIZE, PAGE_SIZE), PAGE_SIZE);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, a, &v), 0); /* through the old mapping */
	KEXPECT_EQ(t, v, 0xd10);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pv, &v), 0);
	KEXPECT_EQ(t, v, 0x01d0); /* the private copy kept its data */
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pv + 24, &v), 0);
	KEXPECT_EQ(t, v, 0xc0c0);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, pv + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 0xd10); /* the page it read: faulted in again, new data */
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + 16, 0x1a7e), 0); /* a later write */
	KEXPECT_EQ(t, vm_msync(mm, a, PAGE_SIZE, MS_SYNC), 0);
	KEXPECT_EQ(t, vm_munmap(mm, a, PAGE_SIZE), 0);
	vfs_fadvise_dontneed(f, 0, 0);
	uint64_t want[2][3] = { { 0xd10, 0xd18, 0x1a7e }, { 0xd10, 0xd18, 0 } };
	for (int pg = 0; pg < 2; pg++) {
		uint64_t got[3];
		KEXPECT_EQ(t, vfs_pread(f, got, sizeof(got), pg * PAGE_SIZE), sizeof(got));
		for (int k = 0; k < 3; k++)
			KEXPECT_EQ(t, got[k], want[pg][k]);
		/* and what the disk holds, read around the cache */
		KEXPECT_EQ(t, dio_in_mm(mm, d, false, buf, PAGE_SIZE, pg * PAGE_SIZE), PAGE_SIZE);
		for (int k = 0; k < 3; k++) {
			KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, buf + 8 * k, &v), 0);
			KEXPECT_EQ(t, v, want[pg][k]);
		}
	}
	/* The user buffer is a mapping of this very file, not faulted in yet:
	 * the pin faults it in before the write takes invalidate_lock. */
	int64_t src = vfs_mmap(mm, f, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, PAGE_SIZE);
	KASSERT_GT(t, src, 0);
	KEXPECT_EQ(t, dio_in_mm(mm, d, true, src, PAGE_SIZE, 0), PAGE_SIZE);
	uint64_t got[3];
	KEXPECT_EQ(t, vfs_pread(f, got, sizeof(got), 0), sizeof(got));
	for (int k = 0; k < 3; k++)
		KEXPECT_EQ(t, got[k], want[1][k]);
	mmput(mm);
	vfs_close(d);
	vfs_close(f);
	vfs_unlink("/dio.dat");
}

static struct dio_op dio_paused;
static struct mm *dio_paused_mm;

static void dio_paused_entry(void *arg)
{
	ktest_run_in_mm(dio_paused_mm, cpu_id(), dio_op_fn, &dio_paused);
	complete(&dio_paused.done);
}

/*
 * The invalidation after the transfer: an O_DIRECT write pauses after it
 * invalidated the range and before it writes (PAUSE_DIO_WRITE); meanwhile a
 * read() caches the old data again and another process faults it into a
 * shared mapping. Once the write is done, a read() and the mapping both see
 * the new data. Kills ODIRECT_NO_INVALIDATE_AFTER.
 */
static void odirect_write_racing_read(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct file *f = fresh_file(t, "/diorace.dat", PAGE_SIZE), *d;
	KASSERT_NOT_NULL(t, f);
	KASSERT_EQ(t, vfs_open("/diorace.dat", O_RDWR | O_DIRECT, &d), 0);
	struct mm *w = mm_alloc(), *r = mm_alloc();
	KASSERT_TRUE(t, w && r);
	uint64_t buf = ktest_mmap(w, PAGE_SIZE), v = 1;
	KASSERT_NE(t, buf, 0);
	KEXPECT_EQ(t, ktest_poke(w, CPU_ANY, buf, 0xd1d), 0);
	int64_t a = vfs_mmap(r, f, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	dio_paused = (struct dio_op){ .f = d, .buf = buf, .len = PAGE_SIZE, .write = true };
	dio_paused_mm = w;
	init_completion(&dio_paused.done);
	pause_arm(PAUSE_DIO_WRITE, w);
	thread_create("dio-write", dio_paused_entry, NULL, ktest_other_cpu(cpu_id(), 1));
	bool paused = pause_wait_reached(PAUSE_DIO_WRITE, 10000);
	KEXPECT_TRUE(t, paused);
	if (paused) {
		KEXPECT_EQ(t, vfs_pread(f, &v, 8, 0), 8); /* the old data, cached again */
		KEXPECT_EQ(t, v, 0);
		KEXPECT_EQ(t, ktest_peek(r, cpu_id(), a, &v), 0); /* and mapped */
		KEXPECT_EQ(t, v, 0);
	}
	pause_release(PAUSE_DIO_WRITE);
	wait_for_completion(&dio_paused.done);
	KEXPECT_EQ(t, dio_paused.ret, PAGE_SIZE);
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, 0), 8);
	KEXPECT_EQ(t, v, 0xd1d);
	KEXPECT_EQ(t, ktest_peek(r, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xd1d);
	mmput(r);
	mmput(w);
	vfs_close(d);
	vfs_close(f);
	vfs_unlink("/diorace.dat");
}

/*
 * An O_DIRECT read returns what read() would: the range's dirty cached data
 * (from write(), or from a write through a shared mapping still only in its
 * PTE) is written back first. Kills ODIRECT_READ_NO_WRITEBACK.
 */
static void odirect_read_writes_back_first(struct ktest *t)
{
	REQUIRE_FS(t);
	struct file *f = fresh_file(t, "/dioread.dat", 2 * PAGE_SIZE), *d;
	KASSERT_NOT_NULL(t, f);
	KASSERT_EQ(t, vfs_open("/dioread.dat", O_RDONLY | O_DIRECT, &d), 0);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t buf = ktest_mmap(mm, PAGE_SIZE), v = 0;
	KASSERT_NE(t, buf, 0);
	int64_t a = vfs_mmap(mm, f, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, vfs_pwrite(f, "cached!!", 8, 0), 8);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + PAGE_SIZE, 0x3a99ed), 0);
	KEXPECT_EQ(t, dio_in_mm(mm, d, false, buf, PAGE_SIZE, 0), PAGE_SIZE);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, buf, &v), 0);
	KEXPECT_EQ(t, memcmp(&v, "cached!!", 8), 0);
	KEXPECT_EQ(t, dio_in_mm(mm, d, false, buf, PAGE_SIZE, PAGE_SIZE), PAGE_SIZE);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, buf, &v), 0);
	KEXPECT_EQ(t, v, 0x3a99ed);
	mmput(mm);
	vfs_close(d);
	vfs_close(f);
	vfs_unlink("/dioread.dat");
}

/* ---- corrupt images ------------------------------------------------------ */

struct fsync_call {
	struct file *f;
	struct completion done;
};

static void fsync_fn(void *arg)
{
	struct fsync_call *c = arg;
	vfs_fdatasync(c->f);
	complete(&c->done);
}

struct poke_call {
	struct mm *mm;
	uint64_t addr, val;
	int ret;
	struct completion done;
};

static void poke_fn(void *arg)
{
	struct poke_call *c = arg;
	use_mm(c->mm);
	c->ret = put_user_u64(c->addr, c->val);
	unuse_mm(c->mm);
	complete(&c->done);
}

static void zap_moves_dirty_bit_to_page(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct file *f = fresh_file(t, "/zapdirty", PAGE_SIZE);
	KASSERT_NOT_NULL(t, f);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vfs_mmap(mm, f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, ktest_poke(mm, cpu_id(), a, 0x11), 0); /* dirty page, dirty PTE */
	/* Writeback cleans the PTE, then pauses before it cleans the page. */
	static struct fsync_call c;
	c = (struct fsync_call){ .f = f };
	init_completion(&c.done);
	flusher_hold(); /* else it may write the page back before we look */
	pause_arm(PAUSE_CLEAN_FOR_IO, &f->inode->mapping);
	thread_create("fsync", fsync_fn, &c, ktest_other_cpu(cpu_id(), 1));
	bool reached = pause_wait_reached(PAUSE_CLEAN_FOR_IO, 10000);
	if (!reached)
		flusher_release();
	KASSERT_TRUE(t, reached);
	/* A write fault now (the PTE is read-only and clean) must wait for the
	 * page lock: made writable inside the window, its PTE could be zapped
	 * and its dirty bit cleared with the page while a stale TLB entry
	 * still writes (seed 004 through the fault path). */
	static struct poke_call p;
	p = (struct poke_call){ .mm = mm, .addr = a + 8, .val = 0x22 };
	init_completion(&p.done);
	thread_create("poke", poke_fn, &p, cpu_id());
	KEXPECT_FALSE(t, wait_for_completion_timeout(&p.done, 200));
	pause_release(PAUSE_CLEAN_FOR_IO);
	wait_for_completion(&c.done);
	wait_for_completion(&p.done);
	KEXPECT_EQ(t, p.ret, 0);
	struct page *pg = find_get_page(&f->inode->mapping, 0);
	KEXPECT_TRUE(t, pg && (READ_ONCE(pg->flags) & PG_dirty)); /* dirtied after the clear */
	if (pg)
		put_page(pg);
	flusher_release();
	KEXPECT_EQ(t, ktest_poke(mm, cpu_id(), a + 16, 0x33), 0); /* no fault: PTE writable */
	KEXPECT_EQ(t, vm_munmap(mm, a, PAGE_SIZE), 0);
	vfs_fsync(f);
	vfs_fadvise_dontneed(f, 0, 0); /* read back from the disk */
	uint64_t v[3] = { 0 };
	KEXPECT_EQ(t, vfs_pread(f, v, sizeof(v), 0), sizeof(v));
	KEXPECT_EQ(t, v[0], 0x11);
	KEXPECT_EQ(t, v[1], 0x22);
	KEXPECT_EQ(t, v[2], 0x33); /* recorded only by the PTE's dirty bit */
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/zapdirty");
}

/* A weighted sum of every word of the first nblocks blocks of a disk:
 * changes if anything there was written. */
static uint64_t disk_sum(struct block_device *b, uint64_t nblocks)
{
	uint64_t sum = 0, n = 0;
	for (uint64_t blk = 0; blk < nblocks; blk++) {
		const uint64_t *w = bdev_block_address(b, blk);
		for (unsigned i = 0; i < SFS_BLOCK_SIZE / 8; i++)
			sum += w[i] * ++n;
	}
	return sum;
}

static void corrupt_image_refused(struct ktest *t)
{
	REQUIRE_FS(t);
	struct block_device *rd = ramdisk();
	uint64_t bytes = rd->nr_sectors * SECTOR_SIZE, nblocks = bytes / SFS_BLOCK_SIZE;
	writeback_all();
	/* A copy of the whole disk (grown to the RAM disk: maybe far more
	 * than one allocation, so in 4 MiB pieces), made once; each case
	 * changes a block or two, put back before the next one. */
	static struct block_device copy;
	if (bdev_alloc(&copy, nblocks * SFS_BLOCK_SIZE))
		KTEST_SKIP(t, "no memory for a copy of the RAM disk");
	for (uint64_t blk = 0; blk < nblocks; blk++)
		memcpy(bdev_block_address(&copy, blk), bdev_block_address(rd, blk), SFS_BLOCK_SIZE);
	const struct sfs_super *live = bdev_block_address(rd, 0);
	uint64_t table = live->inode_table_start + SFS_ROOT_INO / SFS_INODES_PER_BLOCK;
	/* Nothing written: no device write, and the metadata (and whatever
	 * the image's first 8 MiB hold) word for word the same. */
	uint64_t summed = MIN(nblocks, 2048);
	char err[160];
	static const char *const what[] = { "intact", "bad magic", "block out of range",
					    "device too small" };
	for (int k = 0; k < 4; k++) {
		memcpy(bdev_block_address(&copy, 0), live, SFS_BLOCK_SIZE);
		memcpy(bdev_block_address(&copy, table), bdev_block_address(rd, table),
		       SFS_BLOCK_SIZE);
		copy.nr_sectors = nblocks * SECTORS_PER_PAGE;
		struct sfs_super *s = bdev_block_address(&copy, 0);
		if (k == 1)
			s->magic ^= 1;
		if (k == 2) { /* the root directory's first block -> past the end */
			struct sfs_inode *root =
			    (struct sfs_inode *)bdev_block_address(&copy, table) +
			    SFS_ROOT_INO % SFS_INODES_PER_BLOCK;
			root->direct[0] = s->nr_blocks + 5;
		}
		if (k == 3)
			copy.nr_sectors /= 2;
		uint64_t sum = disk_sum(&copy, summed), writes = atomic64_read(&copy.writes);
		int r = sfs_validate(&copy, err, sizeof(err));
		ktest_log(t, "%s: %d (%s)", what[k], r, r ? err : "clean");
		if (k == 0)
			KEXPECT_EQ(t, r, 0);
		else
			KEXPECT_LT(t, r, 0);
		KEXPECT_EQ(t, atomic64_read(&copy.writes), writes);
		KEXPECT_EQ(t, disk_sum(&copy, summed), sum);
	}
	copy.nr_sectors = nblocks * SECTORS_PER_PAGE;
	bdev_free(&copy);
}

static void fsck_clean(struct ktest *t)
{
	REQUIRE_FS(t);
	char err[160] = "";
	int r = fs_sync_and_check(err, sizeof(err));
	if (r)
		ktest_log(t, "fsck: %s", err);
	KEXPECT_EQ(t, r, 0);
}

KTEST_SUITE(fs, KTEST_CASE(initrd_files), KTEST_CASE(namespace), KTEST_CASE(create_in_removed_dir),
	    KTEST_CASE(namespace_stress), KTEST_CASE(nadav_race_madvise),
	    KTEST_CASE(nadav_race_munmap), KTEST_CASE(nadav_race_detects_early_drop),
	    KTEST_CASE(delayed_rmaps_stay_in_two_batches), KTEST_CASE(mprotect_respects_open_mode),
	    KTEST_CASE(nadav_race_stress), KTEST_CASE(data_integrity_model),
	    KTEST_CASE(odirect_vs_fork), KTEST_CASE(odirect_read_excludes_truncate),
	    KTEST_CASE(truncate_mapped_file), KTEST_CASE(truncate_vs_fault_paused),
	    KTEST_CASE(fault_vs_truncate_paused), KTEST_CASE(extend_zeroes_past_eof),
	    KTEST_CASE(truncate_mmap_stress), KTEST_CASE(odirect_write_invalidates),
	    KTEST_CASE(odirect_write_racing_read), KTEST_CASE(odirect_read_writes_back_first),
	    KTEST_CASE(zap_moves_dirty_bit_to_page), KTEST_CASE(corrupt_image_refused),
	    KTEST_CASE(fsck_clean));
