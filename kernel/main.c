/*
 * kernel/main.c - start-up of the BSP, then the kernel's first thread.
 *
 * Order matters: per-CPU base (GS) before anything takes a lock; serial
 * before anything can fail; the page allocator (on the loader's direct map)
 * before the kernel's own page tables; ACPI, LAPIC and clock calibration
 * before the timer and the APs. The BSP then becomes CPU 0's idle thread and
 * the "main" thread runs the command line's job: the test suite (ktest.run=1),
 * then the first user process (kernel/init.c: init=, else /sbin/init of the
 * RAM disk; init=monitor: none), then the monitor.
 */
#include "kernel/itimer.h"
#include "kernel/tty.h"
#include "boot/boot_info.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/cmdline.h"
#include "kernel/pause.h"
#include "kernel/string.h"
#include "kernel/monitor.h"
#include "kernel/init.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "mm/vmalloc.h"
#include "mm/mm.h"
#include "mm/filemap.h"
#include "drivers/serial.h"
#include "drivers/fbcon.h"
#include "drivers/dma_engine.h"
#include "drivers/ramdisk.h"
#include "kernel/fs/fs.h"
#include "arch/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/clock.h"
#include "kernel/sys_time.h"
#include "tests/ktest.h"
#include "tests/bench.h"

struct cpu cpus[NR_CPUS];
int nr_cpus = 1;
volatile int nr_cpus_online = 1;
const struct boot_info *boot_info;

void arch_smp_init_bsp(void);
void arch_smp_boot_aps(const struct boot_info *bi);

static const char *const mem_type_names[] = {
	"?",	  "usable",    "reserved",	   "ACPI reclaim", "ACPI NVS",	 "unusable",
	"kernel", "boot data", "boot page tables", "trampoline",   "persistent",
};

static void print_memory_map(const struct boot_info *bi)
{
	const struct boot_mem_region *r = phys_to_virt(bi->mem_regions);
	uint64_t totals[ARRAY_SIZE(mem_type_names)] = { 0 };
	for (uint64_t i = 0; i < bi->mem_region_count; i++)
		if (r[i].type < ARRAY_SIZE(mem_type_names))
			totals[r[i].type] += r[i].pages;
	printk("memory map: %lu regions\n", bi->mem_region_count);
	if (cmdline_flag("memmap"))
		for (uint64_t i = 0; i < bi->mem_region_count; i++)
			printk("  %#014lx-%#014lx %s (efi %u)\n", r[i].base,
			       r[i].base + r[i].pages * PAGE_SIZE,
			       r[i].type < ARRAY_SIZE(mem_type_names) ? mem_type_names[r[i].type]
								      : "?",
			       r[i].efi_type);
	for (size_t t = 1; t < ARRAY_SIZE(mem_type_names); t++)
		if (totals[t])
			printk("  %-17s %8lu KiB\n", mem_type_names[t], totals[t] * 4);
}

static void check_boot_info(const struct boot_info *bi)
{
	if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION ||
	    bi->size < sizeof(*bi)) {
		printk("boot: bad boot_info (magic %#lx version %u size %u): loader and kernel "
		       "do not match\n",
		       bi->magic, bi->version, bi->size);
		arch_halt_forever();
	}
}

static void setup_framebuffer(const struct boot_info *bi)
{
	if (!bi->fb_base || cmdline_get("nofb")) {
		printk("fb: no framebuffer console\n");
		return;
	}
	void *fb = ioremap_wc(bi->fb_base, bi->fb_size);
	int err = fbcon_init(fb, bi->fb_width, bi->fb_height, bi->fb_pitch, bi->fb_format,
			     bi->fb_red_mask, bi->fb_green_mask, bi->fb_blue_mask);
	if (err)
		printk("fb: unsupported framebuffer (format %u): %d\n", bi->fb_format, err);
	else
		printk("fb: %ux%u console at %#lx\n", bi->fb_width, bi->fb_height, bi->fb_base);
}

static void main_thread(void *arg)
{
	if (cmdline_flag("bench.run")) {
		bench_run_all(cmdline_get("bench.filter"));
		if (cmdline_flag("qemu_exit"))
			arch_qemu_exit(0);
	}
	if (cmdline_flag("ktest.run")) {
		int failed = ktest_run_all(cmdline_get("ktest.filter"));
		if (cmdline_flag("qemu_exit"))
			arch_qemu_exit(failed ? 1 : 0);
	}
	run_init_from_cmdline(); /* init=: the first user process (kernel/init.c) */
	monitor_run();
}

__noreturn void kernel_main(uint64_t boot_info_phys)
{
	struct cpu *c = &cpus[0];
	c->self = c;
	c->id = 0;
	arch_set_cpu_base(c);
	sched_init_cpu(0);
	serial_init();
	const struct boot_info *bi = phys_to_virt(boot_info_phys);
	boot_info = bi;
	printk("\nkernel: booting (loader handed over at TSC %lu)\n", bi->loader_tsc);
	check_boot_info(bi);
	arch_early_init();
	if (bi->cmdline)
		cmdline_init(phys_to_virt(bi->cmdline), bi->cmdline_len);
	qemu_exit_on_panic = cmdline_flag("qemu_exit");
	cmdline_print();
	arch_print_features();
	spinlock_init_mode(boot_cpu_features.hypervisor); /* before any other CPU runs */
	smp_init_wait_mode(boot_cpu_features.hypervisor);
	print_memory_map(bi);

	pmm_init(bi);
	page_lock_init();
	paging_init(bi);
	pmm_free_boot_regions(bi, BOOT_MEM_BOOT_PT);
	mm_init_kernel();
	tlb_init_cpu(0);
	arch_cpu_setup_tables(0);
	setup_framebuffer(bi);

	if (acpi_init(bi->rsdp) < 0)
		printk("acpi: unusable tables: running on one CPU\n");
	lapic_init();
	clock_init();
	timekeeping_init(); /* the wall clock, from the RTC */
	pause_init_delays();
	for (int i = 0; i < NR_CPUS; i++)
		smp_init_cpu(i);
	c->online = true;
	arch_smp_init_bsp();
	printk("smp: %u CPUs in the MADT\n", acpi.nr_cpus);
	arch_smp_boot_aps(bi);
	printk("memory: %lu MiB free of %lu MiB\n", nr_free_pages() >> 8, nr_total_pages() >> 8);

	ramdisk_init(bi);
	if (ramdisk() && fs_mount(ramdisk()) < 0)
		printk("fs: %s: the RAM disk holds no usable file system\n",
		       ramdisk_initrd_given() ? "error" : "note");
	flusher_init();
	itimer_init();
	tty_init(); /* the console tty's input thread */
	dma_engine_init();
	if (!thread_create("main", main_thread, NULL, 0))
		panic("cannot create the main thread");
	sched_start_cpu();
}
