/*
 * tests/user/bench/io.c - I/O into and out of user memory, in MB/s
 * (1 MB = 10^6 bytes).
 *
 *   io_odirect_read_threads_N  O_DIRECT pread of 64 KiB blocks of a 16 MiB
 *                              file into a 64 KiB buffer per thread
 *                              (page-aligned, so also 512-byte aligned),
 *                              N threads of one process pinned to CPUs
 *                              0..N-1, each reading the file round and
 *                              round from its own start: the user pages
 *                              pinned by GUP-fast (one mm on every CPU:
 *                              contention on its page tables), the block
 *                              layer, the copy from the RAM disk.
 *   io_vmsplice                vmsplice of 64 KiB (16 pages) of a buffer
 *                              into a pipe by a process on CPU 0 and
 *                              read() of it by another on CPU 1: the pages
 *                              go into the pipe by reference (GUP), the
 *                              reader copies them out.
 *   io_pipe_write              the same with write() instead of vmsplice
 *                              (two copies): vmsplice's baseline.
 *   io_msync                   writeback of dirty shared file pages: every
 *                              page of a 8 MiB MAP_SHARED mapping written,
 *                              then msync(MS_SYNC) timed alone: the PTEs
 *                              cleaned (and flushed), the pages written to
 *                              the RAM disk, waited for.
 *   io_pagecache_read          read() of 64 KiB blocks of an 8 MiB file
 *                              already in the page cache (read once
 *                              first), from the start again at its end.
 *
 * The files live in "/" (SFS on this kernel's RAM disk; ext2 on a brd RAM
 * disk on Linux), made with write() and fsync first. Each repetition lasts
 * -t MS (150; msync: at least one round); 7 figures x 5 repetitions, about
 * 7 s under TCG plus the file set-up.
 */
#include "bench.h"

#include <sys/uio.h>

#define BLOCK	  (64 * 1024)
#define DIO_FILE  (16ul << 20)
#define SYNC_FILE (8ul << 20)

static const char *dio_path = "/bench_io_dio";
static int dio_fd = -1;

static int dio_work(int id, struct ctl *ctl, void *p)
{
	(void)p;
	char *buf = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		printf("# error: mmap: %s\n", strerror(errno));
		return -1;
	}
	memset(buf, 0, BLOCK);
	off_t off = (off_t)id * (DIO_FILE / MAX_TASKS);
	task_ready(ctl);
	while (!atomic_load_explicit(&ctl->stop, memory_order_relaxed)) {
		ssize_t r = pread(dio_fd, buf, BLOCK, off);
		if (r != BLOCK) {
			printf("# error: O_DIRECT pread at %lld: %s\n", (long long)off,
			       r < 0 ? strerror(errno) : "short");
			return -1;
		}
		off = (off + BLOCK) % DIO_FILE;
		atomic_fetch_add_explicit(&ctl->count[id].v, 1, memory_order_relaxed);
	}
	munmap(buf, BLOCK);
	return 0;
}

static void odirect(void)
{
	close(make_file(dio_path, DIO_FILE));
	dio_fd = open(dio_path, O_RDONLY | O_DIRECT);
	if (dio_fd < 0)
		fail("open %s O_DIRECT: %s", dio_path, strerror(errno));
	char fig[64];
	for (int k = 0; k < 3; k++) {
		int n = task_counts[k];
		if (skip_tasks("io_odirect_read", n))
			continue;
		snprintf(fig, sizeof(fig), "io_odirect_read_threads_%d", n);
		for (int r = 0; r < reps; r++)
			emit(fig, run_tasks(n, 0, dio_work, NULL) * BLOCK / 1e6, "MB/s");
	}
	close(dio_fd);
	unlink(dio_path);
}

/* A writer (vmsplice or write) on CPU 0, a reader on CPU 1. */
static void pipe_figure(const char *fig, int splice)
{
	char *buf = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	memset(buf, 0x33, BLOCK);
	for (int r = 0; r < reps; r++) {
		int p[2];
		if (pipe(p))
			fail("pipe: %s", strerror(errno));
		_Atomic uint64_t *got =
		    mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (got == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		pid_t c = fork();
		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (c == 0) {
			pin(ncpus > 1 ? 1 : 0);
			close(p[1]);
			static char in[BLOCK];
			ssize_t n;
			while ((n = read(p[0], in, sizeof(in))) > 0)
				atomic_fetch_add_explicit(got, n, memory_order_relaxed);
			_exit(n < 0);
		}
		close(p[0]);
		uint64_t start = rdtsc(), budget = ms_cycles(rep_ms);
		while (rdtsc() - start < budget) {
			ssize_t w;
			if (splice) {
				struct iovec iov = { buf, BLOCK };
				w = vmsplice(p[1], &iov, 1, 0);
			} else
				w = write(p[1], buf, BLOCK);
			if (w <= 0)
				fail("%s: %s", splice ? "vmsplice" : "write",
				     w < 0 ? strerror(errno) : "0");
		}
		uint64_t bytes = atomic_load(got), end = rdtsc();
		close(p[1]);
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("the pipe reader failed");
		munmap((void *)got, PAGE);
		emit(fig, rate(bytes, end - start) / 1e6, "MB/s");
	}
	munmap(buf, BLOCK);
}

static void msync_figure(void)
{
	const char *path = "/bench_io_sync";
	int fd = make_file(path, SYNC_FILE);
	char *m = mmap(NULL, SYNC_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap of %s: %s", path, strerror(errno));
	for (int r = 0; r < reps; r++) {
		uint64_t spent = 0, bytes = 0, start = rdtsc(), budget = ms_cycles(rep_ms);
		for (int round = 0; round < 1 || rdtsc() - start < budget; round++) {
			for (size_t off = 0; off < SYNC_FILE; off += PAGE)
				memset(m + off, r + round, PAGE);
			uint64_t t0 = rdtsc();
			if (msync(m, SYNC_FILE, MS_SYNC))
				fail("msync: %s", strerror(errno));
			spent += rdtsc() - t0;
			bytes += SYNC_FILE;
		}
		emit("io_msync", rate(bytes, spent) / 1e6, "MB/s");
	}
	munmap(m, SYNC_FILE);
	close(fd);
	unlink(path);
}

static void pagecache_figure(void)
{
	const char *path = "/bench_io_read";
	int fd = make_file(path, SYNC_FILE);
	static char buf[BLOCK];
	for (off_t off = 0; off < (off_t)SYNC_FILE; off += BLOCK) /* in the cache */
		if (pread(fd, buf, BLOCK, off) != BLOCK)
			fail("pread: %s", strerror(errno));
	for (int r = 0; r < reps; r++) {
		uint64_t bytes = 0, start = rdtsc(), budget = ms_cycles(rep_ms);
		off_t off = 0;
		while (rdtsc() - start < budget) {
			ssize_t n = pread(fd, buf, BLOCK, off);
			if (n != BLOCK)
				fail("pread: %s", n < 0 ? strerror(errno) : "short");
			bytes += n;
			off = (off + BLOCK) % SYNC_FILE;
		}
		emit("io_pagecache_read", rate(bytes, rdtsc() - start) / 1e6, "MB/s");
	}
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, "", NULL);
	odirect();
	pipe_figure("io_vmsplice", 1);
	pipe_figure("io_pipe_write", 0);
	msync_figure();
	pagecache_figure();
	return 0;
}
