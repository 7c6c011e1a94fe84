/*
 * tests/user/futex.c - futex(2) from ring 3 through the raw system call
 * (musl has no futex wrapper): Linux 6.1's results and errno for a value
 * that differs, a timeout, bad and misaligned pointers, bad timespecs,
 * unknown operations, FUTEX_CLOCK_REALTIME where it is not allowed, and
 * wakes with nobody waiting, on private and on shared memory. (Waits that
 * another thread ends come with clone.) One KTAP case per check; exit
 * status 0 if every check passed, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define FUTEX_WAIT	       0
#define FUTEX_WAKE	       1
#define FUTEX_REQUEUE	       3
#define FUTEX_CMP_REQUEUE      4
#define FUTEX_WAKE_OP	       5
#define FUTEX_LOCK_PI	       6
#define FUTEX_WAIT_BITSET      9
#define FUTEX_WAKE_BITSET      10
#define FUTEX_PRIVATE_FLAG     128
#define FUTEX_CLOCK_REALTIME   256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define P		       FUTEX_PRIVATE_FLAG

/* futex(2): the result, or -errno. */
static long futex(void *uaddr, int op, uint32_t val, const void *ts, void *uaddr2, uint32_t val3)
{
	long r = syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
	return r < 0 ? -errno : r;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..18\n");
	static uint32_t word = 7, word2;
	void *kernel = (void *)0xffff800000000000ull;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	check(futex(&word, FUTEX_WAIT | P, 6, NULL, NULL, 0) == -EAGAIN,
	      "WAIT with another value: EAGAIN");
	check(futex(&word, FUTEX_WAIT | P, 7, &ts, NULL, 0) == -ETIMEDOUT,
	      "WAIT 50 ms relative: ETIMEDOUT");
	struct timespec past = { 0, 1 };
	check(futex(&word, FUTEX_WAIT_BITSET | P, 7, &past, NULL, FUTEX_BITSET_MATCH_ANY) ==
		  -ETIMEDOUT,
	      "WAIT_BITSET absolute in the past: ETIMEDOUT");
	check(futex(NULL, FUTEX_WAIT | P, 0, NULL, NULL, 0) == -EFAULT, "WAIT on NULL: EFAULT");
	check(futex(kernel, FUTEX_WAIT | P, 0, NULL, NULL, 0) == -EFAULT,
	      "WAIT on a kernel address: EFAULT");
	check(futex((char *)&word + 1, FUTEX_WAIT | P, 7, NULL, NULL, 0) == -EINVAL,
	      "WAIT on a misaligned address: EINVAL");
	check(futex(&word, FUTEX_WAIT | P, 7, kernel, NULL, 0) == -EFAULT,
	      "WAIT with a kernel timespec pointer: EFAULT");
	struct timespec bad = { 0, 1000000000 };
	check(futex(&word, FUTEX_WAIT | P, 7, &bad, NULL, 0) == -EINVAL,
	      "WAIT with tv_nsec 1e9: EINVAL");
	check(futex(&word, FUTEX_WAIT_BITSET | P, 7, NULL, NULL, 0) == -EINVAL,
	      "WAIT_BITSET with bitset 0: EINVAL");
	check(futex(&word, 99 | P, 0, NULL, NULL, 0) == -ENOSYS, "unknown op: ENOSYS");
	check(futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0) == -ENOSYS &&
		  futex(&word, FUTEX_WAKE_OP | P, 1, NULL, &word2, 0) == -ENOSYS,
	      "LOCK_PI and WAKE_OP: ENOSYS");
	check(futex(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME | P, 7, NULL, NULL, 0) == -ENOSYS,
	      "WAIT | FUTEX_CLOCK_REALTIME: ENOSYS");
	check(futex(&word, FUTEX_WAKE | P, 1, NULL, NULL, 0) == 0 &&
		  futex(&word, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 1) == 0,
	      "WAKE with no waiters: 0");
	check(futex(NULL, FUTEX_WAKE | P, 1, NULL, NULL, 0) == 0 &&
		  futex(NULL, FUTEX_WAKE, 1, NULL, NULL, 0) == -EFAULT,
	      "WAKE on NULL: 0 private (no page looked up), EFAULT shared");
	check(futex(&word, FUTEX_CMP_REQUEUE | P, 1, (void *)1, &word2, 6) == -EAGAIN &&
		  futex(&word, FUTEX_CMP_REQUEUE | P, 1, (void *)1, &word2, 7) == 0 &&
		  futex(&word, FUTEX_REQUEUE | P, 1, (void *)1, &word2, 0) == 0,
	      "CMP_REQUEUE: EAGAIN on another value, else 0 moved");
	uint32_t *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(shm != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS");
	if (shm == MAP_FAILED)
		shm = &word2;
	shm[1] = 3;
	check(futex(&shm[1], FUTEX_WAIT, 2, NULL, NULL, 0) == -EAGAIN &&
		  futex(&shm[1], FUTEX_WAIT, 3, &ts, NULL, 0) == -ETIMEDOUT,
	      "shared WAIT on shmem: EAGAIN, ETIMEDOUT");
	check(futex(&shm[1], FUTEX_WAKE, 1, NULL, NULL, 0) == 0, "shared WAKE on shmem: 0");
	return failed != 0;
}
