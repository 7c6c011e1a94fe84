/*
 * arch/x86_64/smpboot.c - starting the application processors.
 *
 * The MADT (acpi.c) lists the CPUs. For each enabled CPU other than the BSP,
 * one at a time: give it a logical id and an idle stack, fill the
 * trampoline's data block (trampoline.asm), send INIT-SIPI-SIPI (apic.c),
 * and wait up to AP_TIMEOUT_MS for it to mark itself online in ap_main().
 * A CPU that does not answer is logged with its APIC id and left out.
 *
 * The trampoline needs page tables below 4 GiB (it loads CR3 in 32-bit
 * mode). They live in usable RAM below 1 MiB, which the page allocator never
 * hands out: a temporary PML4 holding the kernel's upper half plus an
 * identity map of the first 2 MiB, freed from use as soon as every AP has
 * switched to the kernel's own tables. Only one AP starts at a time, so one
 * data block suffices.
 *
 * A CPU that answers late must never run as another: under a loaded host a
 * vCPU can take longer than any timeout to reach the trampoline, and if it
 * then read the block the BSP had meanwhile filled for the next CPU, two
 * CPUs would share one logical id, one idle stack and one run queue, and run
 * the same threads at once. So the block names its owner (APIC id) and is
 * claimed with a compare-and-swap on both sides: the AP claims it before it
 * reads anything from it (trampoline.asm), the BSP withdraws it when it
 * gives up; exactly one of the two wins. An AP that lost halts in the
 * trampoline; a BSP that lost knows the AP is on its way and waits for it.
 * The timeout is Linux's: 10 s.
 */
#include "arch/arch.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/clock.h"
#include "arch/x86_64/pgtable.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"
#include "mm/page.h"
#include "boot/boot_info.h"

#define AP_TIMEOUT_MS 10000 /* default of smp.ap_timeout_ms */
static uint64_t ap_timeout_ms;
#define TIMER_HZ ARCH_TIMER_HZ

struct trampoline_data {
	uint32_t cr3, efer;
	uint64_t stack, entry, cpu, kcr3;
	uint32_t owner; /* APIC id of the CPU it is for; or one of: */
	uint32_t pad;
};
#define TRAMP_CLAIMED	       0xffffffffu /* the AP took it (trampoline.asm) */
#define TRAMP_ABANDONED	       0xfffffffeu /* the BSP gave up on the AP */
#define TRAMPOLINE_DATA_OFFSET 0x10

extern const char _binary_trampoline_bin_start[], _binary_trampoline_bin_end[];
extern void ap_entry64(void);
extern pte_t *kernel_pml4;

static uint64_t low_pages[3]; /* temporary PML4, PDPT, PD (physical) */

/* Find n usable pages below 1 MiB (not the trampoline page) in the boot map. */
static bool find_low_pages(const struct boot_info *bi, uint64_t *out, int n)
{
	const struct boot_mem_region *r = phys_to_virt(bi->mem_regions);
	int found = 0;
	for (uint64_t i = 0; i < bi->mem_region_count && found < n; i++) {
		if (r[i].type != BOOT_MEM_USABLE)
			continue;
		for (uint64_t p = 0; p < r[i].pages && found < n; p++) {
			uint64_t pa = r[i].base + p * PAGE_SIZE;
			if (pa >= 0x1000 && pa < 0x100000 && pa != bi->trampoline)
				out[found++] = pa;
		}
	}
	return found == n;
}

static void build_temp_tables(void)
{
	pte_t *pml4 = phys_to_virt(low_pages[0]), *pdpt = phys_to_virt(low_pages[1]),
	      *pd = phys_to_virt(low_pages[2]);
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	memset(pd, 0, PAGE_SIZE);
	for (int i = 256; i < PT_ENTRIES; i++)
		pml4[i] = kernel_pml4[i];
	pml4[0] = low_pages[1] | _PAGE_PRESENT | _PAGE_RW;
	pdpt[0] = low_pages[2] | _PAGE_PRESENT | _PAGE_RW;
	pd[0] = 0 | _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE;
}

void arch_send_ipi(int cpu, int vector)
{
	lapic_send_ipi(cpus[cpu].apic_id, vector);
}

void arch_send_nmi_allbutself(void)
{
	if (nr_cpus > 1)
		lapic_send_nmi_allbutself();
}

/* First C code of an AP, on its idle stack, with the kernel's page tables. */
__noreturn void ap_main(uint64_t cpu)
{
	struct cpu *c = &cpus[cpu];
	arch_set_cpu_base(c);
	sched_init_cpu((int)cpu);
	arch_cpu_init((int)cpu);
	tlb_init_cpu((int)cpu);
	lapic_init();
	lapic_timer_start(TIMER_HZ);
	smp_store_release(&c->online, true);
	__atomic_add_fetch(&nr_cpus_online, 1, __ATOMIC_SEQ_CST);
	sched_start_cpu();
}

enum ap_start { AP_ONLINE, AP_LEFT_OUT, AP_LATE };

/* Wait up to ms for CPU id to mark itself online. */
static bool wait_online(struct cpu *c, uint64_t ms)
{
	uint64_t deadline = ktime_get_ns() + ms * 1000000ull;
	while (!smp_load_acquire(&c->online) && ktime_get_ns() < deadline)
		cpu_relax();
	return smp_load_acquire(&c->online);
}

/*
 * AP_LEFT_OUT: the CPU never took the block and never will; its logical id
 * is free for the next CPU (online ids stay 0..n-1). AP_LATE: it took the
 * block but is not online yet; it keeps its id and its stack, and joins
 * whenever it gets there.
 */
static enum ap_start start_ap(const struct boot_info *bi, int id, uint32_t apic_id)
{
	struct cpu *c = &cpus[id];
	void *stack = get_free_pages(0, THREAD_STACK_ORDER);
	if (!stack) {
		printk("smp: no memory for CPU %d's stack\n", id);
		return AP_LEFT_OUT;
	}
	c->self = c;
	c->id = id;
	c->apic_id = apic_id;
	struct trampoline_data *d = phys_to_virt(bi->trampoline + TRAMPOLINE_DATA_OFFSET);
	d->cr3 = (uint32_t)low_pages[0];
	d->efer = EFER_LME | (boot_cpu_features.nx ? EFER_NXE : 0);
	d->stack = (uint64_t)stack + THREAD_STACK_SIZE;
	d->entry = (uint64_t)ap_entry64;
	d->cpu = (uint64_t)id;
	d->kcr3 = kernel_pml4_phys;
	__atomic_store_n(&d->owner, apic_id, __ATOMIC_RELEASE); /* after the rest */
	if (lapic_start_ap(apic_id, (uint32_t)bi->trampoline) < 0) {
		__atomic_store_n(&d->owner, TRAMP_ABANDONED, __ATOMIC_SEQ_CST);
		free_pages(stack, THREAD_STACK_ORDER);
		return AP_LEFT_OUT;
	}
	if (wait_online(c, ap_timeout_ms))
		return AP_ONLINE;
	uint32_t owner = apic_id;
	if (__atomic_compare_exchange_n(&d->owner, &owner, TRAMP_ABANDONED, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		printk("smp: CPU with APIC id %u did not start within %lu ms: left out\n", apic_id,
		       ap_timeout_ms);
		free_pages(stack, THREAD_STACK_ORDER); /* it can no longer take the block */
		return AP_LEFT_OUT;
	}
	/* It claimed the block: it runs on its stack, on its way to ap_main(). */
	printk("smp: CPU %d (APIC id %u) is slow to start; waiting for it\n", id, apic_id);
	if (wait_online(c, AP_TIMEOUT_MS))
		return AP_ONLINE;
	printk("smp: CPU %d (APIC id %u) started but is not online after %d ms more\n", id, apic_id,
	       AP_TIMEOUT_MS);
	return AP_LATE;
}

void arch_smp_init_bsp(void)
{
	cpus[0].apic_id = lapic_id();
	lapic_timer_start(TIMER_HZ);
}

void arch_smp_boot_aps(const struct boot_info *bi)
{
	if (!bi->trampoline || bi->trampoline >= 0x100000 || (bi->trampoline & 0xfff)) {
		printk("smp: no usable trampoline page from the loader: running on one CPU\n");
		return;
	}
	if (!find_low_pages(bi, low_pages, 3)) {
		printk(
		    "smp: no free low memory for the start-up page tables: running on one CPU\n");
		return;
	}
	size_t len = _binary_trampoline_bin_end - _binary_trampoline_bin_start;
	memcpy(phys_to_virt(bi->trampoline), _binary_trampoline_bin_start, len);
	build_temp_tables();

	/* smp.ap_timeout_ms: tests shorten it to make every AP late on purpose. */
	ap_timeout_ms = cmdline_ulong("smp.ap_timeout_ms", AP_TIMEOUT_MS);
	int listed = 1;
	for (uint32_t i = 0; i < acpi.nr_cpus; i++) {
		const struct acpi_cpu *ac = &acpi.cpus[i];
		if (ac->apic_id == cpus[0].apic_id || !(ac->flags & ACPI_CPU_ENABLED))
			continue;
		if (nr_cpus >= NR_CPUS) {
			printk("smp: CPU with APIC id %u ignored: NR_CPUS is %d\n", ac->apic_id,
			       NR_CPUS);
			continue;
		}
		listed++;
		int id = nr_cpus++;
		if (start_ap(bi, id, ac->apic_id) == AP_LEFT_OUT)
			nr_cpus--; /* the id goes to the next CPU */
	}
	printk("smp: %d of %d CPUs online (%d failed to start)\n", nr_cpus_online, listed,
	       listed - nr_cpus_online);
}
