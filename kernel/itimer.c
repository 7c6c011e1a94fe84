/*
 * kernel/itimer.c - ITIMER_REAL (alarm, setitimer, getitimer), Linux's
 * kernel/time/itimer.c: one real-time interval timer per process; when it
 * expires the process gets SIGALRM (si_code SI_KERNEL: Linux sends it
 * with SEND_SIG_PRIV), then it is re-armed with the
 * interval, or disarmed. ITIMER_VIRTUAL and ITIMER_PROF are not
 * implemented (-EINVAL).
 *
 * Linux fires an hrtimer in interrupt context; here the timers are fired
 * by one kernel thread ("itimer", started at boot) that sleeps until the
 * earliest expiry, because sending a signal takes tasklist_lock and the
 * siglock, which interrupts never take (kernel/signal.c). Arming a timer
 * wakes the thread (itimer_gen). A timer fires within a scheduler tick of
 * its time.
 *
 * Lock: itimer_lock guards the list of armed processes and every
 * process's it_real_* fields; tasklist_lock nests outside it (the thread
 * takes both to send; process_release disarms under tasklist_lock).
 */
#include "kernel/itimer.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "arch/x86_64/uaccess.h"

#define ITIMER_REAL 0
#define NSEC	    1000000000ull

static DEFINE_SPINLOCK(itimer_lock);
static LIST_HEAD(itimer_list); /* struct process.itimer_node: armed ones */
static struct waitq itimer_wq;
static volatile uint64_t itimer_gen;

/* Fire what expired (tasklist_lock and itimer_lock held); the earliest
 * deadline left, or 0. */
static uint64_t itimer_fire_locked(uint64_t now)
{
	uint64_t next = 0;
	struct process *p, *n;
	list_for_each_entry_safe (p, n, &itimer_list, itimer_node) {
		if (p->it_real_expires_ns <= now) {
			kernel_send_process(p, SIGALRM, SI_KERNEL);
			if (p->it_real_interval_ns) {
				p->it_real_expires_ns += p->it_real_interval_ns;
				if (p->it_real_expires_ns <= now)
					p->it_real_expires_ns = now + p->it_real_interval_ns;
			} else {
				p->it_real_expires_ns = 0;
				list_del_init(&p->itimer_node);
				continue;
			}
		}
		if (!next || p->it_real_expires_ns < next)
			next = p->it_real_expires_ns;
	}
	return next;
}

static void itimer_thread(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t gen = READ_ONCE(itimer_gen);
		spin_lock(&tasklist_lock);
		spin_lock(&itimer_lock);
		uint64_t next = itimer_fire_locked(ktime_get_ns());
		spin_unlock(&itimer_lock);
		spin_unlock(&tasklist_lock);
		struct waiter w = { 0 };
		prepare_to_wait(&itimer_wq, &w);
		if (READ_ONCE(itimer_gen) == gen) {
			if (next)
				schedule_timeout_deadline(next);
			else
				schedule();
		}
		finish_wait(&itimer_wq, &w);
	}
}

void itimer_init(void)
{
	waitq_init(&itimer_wq);
	if (!thread_create("itimer", itimer_thread, NULL, CPU_ANY))
		panic("itimer: cannot create its thread");
}

void itimer_release(struct process *p)
{
	spin_lock(&itimer_lock);
	if (p->it_real_expires_ns)
		list_del_init(&p->itimer_node);
	p->it_real_expires_ns = 0;
	spin_unlock(&itimer_lock);
}

/* Time left (ns, 0: disarmed) and interval; itimer_lock held. */
static void get_real(struct process *p, uint64_t now, uint64_t *left, uint64_t *interval)
{
	*interval = p->it_real_interval_ns;
	*left = 0;
	if (p->it_real_expires_ns)
		*left = p->it_real_expires_ns > now ? p->it_real_expires_ns - now : 1;
}

/* Arm (value 0: disarm) current's timer; the old one in *old_left/interval. */
static void set_real(uint64_t value, uint64_t interval, uint64_t *old_left, uint64_t *old_interval)
{
	struct process *p = current->proc;
	uint64_t now = ktime_get_ns();
	spin_lock(&itimer_lock);
	get_real(p, now, old_left, old_interval);
	if (p->it_real_expires_ns)
		list_del_init(&p->itimer_node);
	p->it_real_expires_ns = value ? now + value : 0;
	p->it_real_interval_ns = value ? interval : 0;
	if (value)
		list_add_tail(&p->itimer_node, &itimer_list);
	spin_unlock(&itimer_lock);
	__atomic_add_fetch(&itimer_gen, 1, __ATOMIC_SEQ_CST);
	wake_up_all(&itimer_wq);
}

struct k_itimerval {
	int64_t interval_sec, interval_usec, value_sec, value_usec;
};

static uint64_t tv_ns(int64_t sec, int64_t usec)
{
	if (sec >= 1000000000)
		return 1000000000ull * NSEC; /* ~31 years: as good as forever */
	return (uint64_t)sec * NSEC + (uint64_t)usec * 1000;
}

static void ns_tv(uint64_t ns, int64_t *sec, int64_t *usec)
{
	*sec = (int64_t)(ns / NSEC);
	*usec = (int64_t)((ns % NSEC + 999) / 1000); /* round up, as Linux */
	if (*usec == 1000000) {
		*sec += 1;
		*usec = 0;
	}
}

int64_t sys_getitimer(int which, uint64_t ucur)
{
	if (which != ITIMER_REAL)
		return -EINVAL;
	uint64_t left, interval;
	spin_lock(&itimer_lock);
	get_real(current->proc, ktime_get_ns(), &left, &interval);
	spin_unlock(&itimer_lock);
	struct k_itimerval v;
	ns_tv(interval, &v.interval_sec, &v.interval_usec);
	ns_tv(left, &v.value_sec, &v.value_usec);
	return copy_to_user(ucur, &v, sizeof(v)) ? -EFAULT : 0;
}

int64_t sys_setitimer(int which, uint64_t unew, uint64_t uold)
{
	struct k_itimerval v = { 0 };
	if (unew && copy_from_user(&v, unew, sizeof(v)))
		return -EFAULT;
	if (which != ITIMER_REAL)
		return -EINVAL;
	if (v.value_sec < 0 || v.value_usec < 0 || v.value_usec >= 1000000 || v.interval_sec < 0 ||
	    v.interval_usec < 0 || v.interval_usec >= 1000000)
		return -EINVAL;
	uint64_t left, interval;
	set_real(tv_ns(v.value_sec, v.value_usec), tv_ns(v.interval_sec, v.interval_usec), &left,
		 &interval);
	if (!uold)
		return 0;
	ns_tv(interval, &v.interval_sec, &v.interval_usec);
	ns_tv(left, &v.value_sec, &v.value_usec);
	return copy_to_user(uold, &v, sizeof(v)) ? -EFAULT : 0;
}

/* Linux: the seconds left of the old alarm, rounded (>= 0.5 s up; a
 * pending one never reads 0). */
int64_t sys_alarm(unsigned seconds)
{
	uint64_t left, interval;
	set_real((uint64_t)seconds * NSEC, 0, &left, &interval);
	if (!left)
		return 0;
	int64_t sec = (int64_t)(left / NSEC);
	if ((left % NSEC) >= NSEC / 2 || !sec)
		sec++;
	return sec;
}
