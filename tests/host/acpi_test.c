/*
 * tests/host/acpi_test.c - host unit test of the ACPI table parser
 * (arch/x86_64/acpi.c compiled with -DACPI_HOST_TEST).
 *
 * The test builds RSDP / XSDT / RSDT / FADT / MADT / HPET tables with correct
 * checksums in a simulated block of physical RAM, then breaks them on
 * purpose (checksums, lengths, malformed MADT entries, missing tables) and
 * checks what acpi_init() reports and logs.
 *
 * acpi_host_map() hands the parser a fresh heap copy of exactly the bytes it
 * asked for, so under AddressSanitizer any read past what the parser mapped
 * (not merely past the table) is caught. A random mutation pass over the
 * MADT checks that no input makes it fault or loop; alarm() turns a loop
 * into a failure.
 *
 * Build and run (from the repository root):
 *   mkdir -p build/host && gcc -std=gnu11 -O1 -g -Wall -Wextra -Werror \
 *     -Wno-unused-parameter -fsanitize=address,undefined \
 *     -fno-sanitize-recover=all -DACPI_HOST_TEST -I. \
 *     arch/x86_64/acpi.c tests/host/acpi_test.c -o build/host/acpi_test \
 *   && build/host/acpi_test
 * Set ACPI_TEST_VERBOSE=1 to see the parser's log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86_64/acpi.h"

/* ---- harness ------------------------------------------------------------ */

static int failures, checks;
static const char *current_test;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		checks++;                                                                        \
		if (!(cond)) {                                                                   \
			failures++;                                                              \
			printf("FAIL %s: %s:%d: %s\n", current_test, __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)
#define CHECK_EQ(a, b)                                                                            \
	do {                                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);                               \
		checks++;                                                                         \
		if (_a != _b) {                                                                   \
			failures++;                                                               \
			printf("FAIL %s: %s:%d: %s == %lld, expected %s == %lld\n", current_test, \
			       __FILE__, __LINE__, #a, _a, #b, _b);                               \
		}                                                                                 \
	} while (0)

/* printk replacement: capture everything, optionally echo. */
static char logbuf[1 << 16];
static size_t loglen;
static int verbose;

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
	va_end(ap);
	if (verbose)
		fputs(logbuf + loglen, stdout);
	if (n > 0)
		loglen = loglen + n < sizeof(logbuf) ? loglen + n : sizeof(logbuf) - 1;
	return n;
}

static bool log_has(const char *s)
{
	return strstr(logbuf, s) != NULL;
}

#define CHECK_LOG(s)                                                                         \
	do {                                                                                 \
		checks++;                                                                    \
		if (!log_has(s)) {                                                           \
			failures++;                                                          \
			printf("FAIL %s: %s:%d: log lacks \"%s\"\n", current_test, __FILE__, \
			       __LINE__, s);                                                 \
		}                                                                            \
	} while (0)

/* ---- simulated physical memory ------------------------------------------ */

#define RAM_BASE 0x7fe00000ull
#define RAM_SIZE 0x10000ull

#define PA_RSDP	    (RAM_BASE + 0x0000)
#define PA_XSDT	    (RAM_BASE + 0x0100)
#define PA_RSDT	    (RAM_BASE + 0x0200)
#define PA_FADT	    (RAM_BASE + 0x1000)
#define PA_MADT	    (RAM_BASE + 0x2000)
#define PA_HPET	    (RAM_BASE + 0x3000)
#define PA_MADT2    (RAM_BASE + 0x4000)
#define PA_OTHER    (RAM_BASE + 0x8000)
#define PA_UNMAPPED 0x1234000ull

static uint8_t ram[RAM_SIZE];
static void *copies[4096];
static int nr_copies;

const void *acpi_host_map(uint64_t phys, size_t len)
{
	void *copy;

	if (phys < RAM_BASE || len > RAM_SIZE || phys - RAM_BASE > RAM_SIZE - len)
		return NULL;
	if (nr_copies == (int)(sizeof(copies) / sizeof(copies[0]))) {
		printf("FAIL: the parser mapped more than %d ranges\n", nr_copies);
		exit(1);
	}
	copy = malloc(len ? len : 1);
	memcpy(copy, ram + (phys - RAM_BASE), len);
	copies[nr_copies++] = copy;
	return copy;
}

static void reset(const char *name)
{
	for (int i = 0; i < nr_copies; i++)
		free(copies[i]);
	nr_copies = 0;
	memset(ram, 0, sizeof(ram));
	logbuf[0] = '\0';
	loglen = 0;
	current_test = name;
	if (verbose)
		printf("---- %s\n", name);
}

static int run(uint64_t rsdp)
{
	int r = acpi_init(rsdp);

	/* The parser may keep no pointer into mapped memory past acpi_init():
	 * free the copies now so a later use would be caught by ASan. */
	for (int i = 0; i < nr_copies; i++)
		free(copies[i]);
	nr_copies = 0;
	return r;
}

/* ---- table builder ------------------------------------------------------ */

struct table {
	uint8_t b[8192];
	size_t n;
};

static void put(struct table *t, const void *p, size_t n)
{
	memcpy(t->b + t->n, p, n);
	t->n += n;
}
static void u8(struct table *t, uint8_t v)
{
	put(t, &v, 1);
}
static void u16(struct table *t, uint16_t v)
{
	put(t, &v, 2);
}
static void u32(struct table *t, uint32_t v)
{
	put(t, &v, 4);
}
static void u64(struct table *t, uint64_t v)
{
	put(t, &v, 8);
}
static void set8(struct table *t, size_t off, uint8_t v)
{
	t->b[off] = v;
}
static void set16(struct table *t, size_t off, uint16_t v)
{
	memcpy(t->b + off, &v, 2);
}
static void set32(struct table *t, size_t off, uint32_t v)
{
	memcpy(t->b + off, &v, 4);
}
static void set64(struct table *t, size_t off, uint64_t v)
{
	memcpy(t->b + off, &v, 8);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void sdt_header(struct table *t, const char *sig, uint8_t rev)
{
	memset(t, 0, sizeof(*t));
	put(t, sig, 4);
	u32(t, 0); /* length, set by place() */
	u8(t, rev);
	u8(t, 0); /* checksum */
	put(t, "BOCHS ", 6);
	put(t, "BXPC    ", 8);
	u32(t, 1);
	put(t, "BXPC", 4);
	u32(t, 1);
}

/* Set length and checksum, copy into RAM at pa. */
static void place(struct table *t, uint64_t pa)
{
	set32(t, 4, (uint32_t)t->n);
	set8(t, 9, 0);
	set8(t, 9, (uint8_t)-sum(t->b, t->n));
	memcpy(ram + (pa - RAM_BASE), t->b, t->n);
}

/* Copy raw bytes (length/checksum as they are). */
static void place_raw(struct table *t, uint64_t pa)
{
	memcpy(ram + (pa - RAM_BASE), t->b, t->n);
}

static void rsdp(uint64_t pa, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	struct table t = { .n = 0 };

	put(&t, "RSD PTR ", 8);
	u8(&t, 0);
	put(&t, "BOCHS ", 6);
	u8(&t, rev);
	u32(&t, rsdt);
	u32(&t, 36);
	u64(&t, xsdt);
	u8(&t, 0);
	u8(&t, 0), u8(&t, 0), u8(&t, 0);
	set8(&t, 8, (uint8_t)-sum(t.b, 20));
	set8(&t, 32, (uint8_t)-sum(t.b, 36));
	memcpy(ram + (pa - RAM_BASE), t.b, rev >= 2 ? 36 : 20);
}

static void xsdt(const uint64_t *tables, int n)
{
	struct table t;

	sdt_header(&t, "XSDT", 1);
	for (int i = 0; i < n; i++)
		u64(&t, tables[i]);
	place(&t, PA_XSDT);
}

static void rsdt(const uint64_t *tables, int n)
{
	struct table t;

	sdt_header(&t, "RSDT", 1);
	for (int i = 0; i < n; i++)
		u32(&t, (uint32_t)tables[i]);
	place(&t, PA_RSDT);
}

/* ---- FADT --------------------------------------------------------------- */

#define FADT_LEN	  276
#define FADT_PM_TMR_BLK	  76
#define FADT_PM_TMR_LEN	  91
#define FADT_IAPC	  109
#define FADT_FLAGS	  112
#define FADT_RESET_REG	  116
#define FADT_RESET_VALUE  128
#define FADT_MINOR	  131
#define FADT_X_PM_TMR_BLK 208
#define F_TMR_VAL_EXT	  (1u << 8)
#define F_RESET_REG_SUP	  (1u << 10)
#define F_HW_REDUCED	  (1u << 20)

static void gas(struct table *t, size_t off, uint8_t space, uint8_t width, uint64_t addr)
{
	set8(t, off, space);
	set8(t, off + 1, width);
	set8(t, off + 2, 0);
	set8(t, off + 3, 1);
	set64(t, off + 4, addr);
}

/* A QEMU-like ACPI 6.4 FADT: PM timer at 0x608 (24-bit), reset via 0xcf9. */
static void fadt_std(struct table *t)
{
	sdt_header(t, "FACP", 6);
	t->n = FADT_LEN;
	set32(t, FADT_PM_TMR_BLK, 0x608);
	set8(t, FADT_PM_TMR_LEN, 4);
	set16(t, FADT_IAPC, 0x2);
	set32(t, FADT_FLAGS, F_RESET_REG_SUP);
	gas(t, FADT_RESET_REG, ACPI_GAS_IO, 8, 0xcf9);
	set8(t, FADT_RESET_VALUE, 0x06);
	set8(t, FADT_MINOR, 4);
	gas(t, FADT_X_PM_TMR_BLK, ACPI_GAS_IO, 32, 0x608);
}

/* ---- MADT --------------------------------------------------------------- */

static void madt_begin(struct table *t, uint8_t rev)
{
	sdt_header(t, "APIC", rev);
	u32(t, 0xfee00000);
	u32(t, 1); /* PCAT_COMPAT */
}
static void e_lapic(struct table *t, uint8_t uid, uint8_t id, uint32_t flags)
{
	u8(t, 0), u8(t, 8), u8(t, uid), u8(t, id), u32(t, flags);
}
static void e_ioapic(struct table *t, uint8_t id, uint32_t addr, uint32_t gsi)
{
	u8(t, 1), u8(t, 12), u8(t, id), u8(t, 0), u32(t, addr), u32(t, gsi);
}
static void e_iso(struct table *t, uint8_t src, uint32_t gsi, uint16_t flags)
{
	u8(t, 2), u8(t, 10), u8(t, 0), u8(t, src), u32(t, gsi), u16(t, flags);
}
static void e_lapic_nmi(struct table *t, uint8_t uid, uint16_t flags, uint8_t lint)
{
	u8(t, 4), u8(t, 6), u8(t, uid), u16(t, flags), u8(t, lint);
}
static void e_override(struct table *t, uint64_t addr)
{
	u8(t, 5), u8(t, 12), u16(t, 0), u64(t, addr);
}
static void e_x2apic(struct table *t, uint32_t id, uint32_t flags, uint32_t uid)
{
	u8(t, 9), u8(t, 16), u16(t, 0), u32(t, id), u32(t, flags), u32(t, uid);
}
static void e_x2apic_nmi(struct table *t, uint32_t uid, uint16_t flags, uint8_t lint)
{
	u8(t, 10), u8(t, 12), u16(t, flags), u32(t, uid), u8(t, lint), u8(t, 0), u8(t, 0), u8(t, 0);
}

static void madt_std(struct table *t)
{
	madt_begin(t, 5);
	for (int i = 0; i < 4; i++)
		e_lapic(t, i, i, 1);
	e_ioapic(t, 0, 0xfec00000, 0);
	e_iso(t, 0, 2, 0);
	e_iso(t, 9, 9, 0xd);
	e_lapic_nmi(t, 0xff, 0, 1);
}

/* ---- HPET --------------------------------------------------------------- */

static void hpet_std(struct table *t)
{
	sdt_header(t, "HPET", 1);
	u32(t, 0x8086a201);
	u8(t, ACPI_GAS_MEMORY), u8(t, 64), u8(t, 0), u8(t, 0), u64(t, 0xfed00000);
	u8(t, 0);
	u16(t, 0x80);
	u8(t, 0);
}

/* A full QEMU-like machine: RSDP 2 -> XSDT -> FADT, MADT, HPET. */
static void machine_std(void)
{
	struct table t;
	uint64_t tabs[] = { PA_FADT, PA_MADT, PA_HPET };

	fadt_std(&t);
	place(&t, PA_FADT);
	madt_std(&t);
	place(&t, PA_MADT);
	hpet_std(&t);
	place(&t, PA_HPET);
	xsdt(tabs, 3);
	rsdt(tabs, 3);
	rsdp(PA_RSDP, 2, (uint32_t)PA_RSDT, PA_XSDT);
}

/* ---- tests -------------------------------------------------------------- */

static void test_standard_machine(void)
{
	reset("standard machine");
	machine_std();
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(acpi.present);
	CHECK(acpi.use_xsdt);
	CHECK_EQ(acpi.rsdp_revision, 2);
	CHECK(strcmp(acpi.oem_id, "BOCHS ") == 0);
	CHECK(acpi.madt_found && !acpi.madt_truncated);
	CHECK_EQ(acpi.lapic_phys, 0xfee00000);
	CHECK(acpi.pcat_compat);
	CHECK_EQ(acpi.nr_cpus, 4);
	for (uint32_t i = 0; i < 4; i++) {
		CHECK_EQ(acpi.cpus[i].apic_id, i);
		CHECK_EQ(acpi.cpus[i].uid, i);
		CHECK_EQ(acpi.cpus[i].flags, ACPI_CPU_ENABLED);
		CHECK(!acpi.cpus[i].x2apic_entry);
	}
	CHECK_EQ(acpi.nr_disabled, 0);
	CHECK_EQ(acpi.nr_skipped, 0);
	CHECK_EQ(acpi.nr_ioapics, 1);
	CHECK_EQ(acpi.ioapics[0].phys, 0xfec00000);
	CHECK_EQ(acpi.ioapics[0].gsi_base, 0);
	CHECK_EQ(acpi.nr_isos, 2);
	CHECK_EQ(acpi.isos[0].source, 0);
	CHECK_EQ(acpi.isos[0].gsi, 2);
	CHECK_EQ(acpi.isos[1].source, 9);
	CHECK_EQ(acpi.isos[1].flags, 0xd);
	CHECK_EQ(acpi.nr_lapic_nmis, 1);
	CHECK_EQ(acpi.lapic_nmis[0].uid, ACPI_UID_ALL_CPUS_32);
	CHECK_EQ(acpi.lapic_nmis[0].lint, 1);
	CHECK(acpi.fadt_found);
	CHECK_EQ(acpi.fadt_revision, 6);
	CHECK_EQ(acpi.fadt_minor, 4);
	CHECK(!acpi.hw_reduced);
	CHECK_EQ(acpi.pm_timer_port, 0x608);
	CHECK(!acpi.pm_timer_32bit);
	CHECK(acpi.reset_supported);
	CHECK_EQ(acpi.reset_reg.space, ACPI_GAS_IO);
	CHECK_EQ(acpi.reset_reg.address, 0xcf9);
	CHECK_EQ(acpi.reset_value, 6);
	CHECK_EQ(acpi.iapc_boot_arch, 2);
	CHECK_EQ(acpi.hpet_phys, 0xfed00000);
	CHECK_EQ(acpi.hpet_min_tick, 0x80);
	CHECK_EQ(acpi_cpu_index(2), 2);
	CHECK_EQ(acpi_cpu_index(7), -1);
	CHECK_LOG(
	    "ACPI: MADT: 4 CPUs (APIC ids 0 1 2 3), 0 disabled, LAPIC at 0xfee00000, 1 IOAPIC\n");
	CHECK_LOG("ACPI: PM timer at port 0x608 (24-bit)\n");
	CHECK_LOG("ACPI: HPET at 0xfed00000\n");
	CHECK_LOG("XSDT at 0x7fe00100");
	CHECK(!log_has("WARNING") && !log_has("ERROR"));

	/* Calling again re-parses from scratch. */
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_EQ(acpi.nr_isos, 2);
}

static void test_rsdt_only(void)
{
	struct table t;
	uint64_t tabs[] = { PA_MADT, PA_FADT };

	reset("RSDT only (ACPI 1.0 RSDP)");
	madt_std(&t);
	place(&t, PA_MADT);
	/* ACPI 1.0 FADT: 116 bytes, 32-bit PM timer, no reset register. */
	sdt_header(&t, "FACP", 1);
	t.n = 116;
	set32(&t, FADT_PM_TMR_BLK, 0xb008);
	set8(&t, FADT_PM_TMR_LEN, 4);
	set32(&t, FADT_FLAGS, F_TMR_VAL_EXT | F_RESET_REG_SUP);
	place(&t, PA_FADT);
	rsdt(tabs, 2);
	rsdp(PA_RSDP, 0, (uint32_t)PA_RSDT, 0);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.use_xsdt);
	CHECK_EQ(acpi.rsdp_revision, 0);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_EQ(acpi.pm_timer_port, 0xb008);
	CHECK(acpi.pm_timer_32bit);
	CHECK(!acpi.reset_supported); /* the flag is set but the field is not there */
	CHECK_EQ(acpi.hpet_phys, 0);
	CHECK_LOG("RSDT at 0x7fe00200");
	CHECK_LOG("ACPI: PM timer at port 0xb008 (32-bit)\n");

	reset("RSDP rev 2 with XsdtAddress 0 uses the RSDT");
	madt_std(&t);
	place(&t, PA_MADT);
	rsdt(tabs, 1);
	rsdp(PA_RSDP, 2, (uint32_t)PA_RSDT, 0);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.use_xsdt);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK(!acpi.fadt_found);
	CHECK_LOG("no valid FADT");
}

static void test_rsdp_errors(void)
{
	reset("no RSDP");
	CHECK_EQ(run(0), -2);
	CHECK(!acpi.present);

	reset("RSDP outside memory");
	CHECK_EQ(run(PA_UNMAPPED), -22);

	reset("RSDP bad signature");
	machine_std();
	ram[0] = 'X';
	CHECK_EQ(run(PA_RSDP), -22);
	CHECK_LOG("no RSDP signature");

	reset("RSDP bad checksum");
	machine_std();
	ram[8] ^= 1;
	CHECK_EQ(run(PA_RSDP), -22);
	CHECK_LOG("RSDP at 0x7fe00000 has a bad checksum");

	reset("RSDP bad extended checksum");
	machine_std();
	ram[32] ^= 1;
	CHECK_EQ(run(PA_RSDP), -22);
	CHECK_LOG("bad extended checksum");

	reset("RSDP bad length");
	machine_std();
	ram[20] = 8; /* length 8 < 36; fix the extended checksum so only the length is wrong */
	ram[32] = 0;
	ram[32] = (uint8_t)-sum(ram, 36);
	CHECK_EQ(run(PA_RSDP), -22);
	CHECK_LOG("bad length");

	reset("RSDP at the very end of memory");
	rsdp(RAM_BASE + RAM_SIZE - 20, 0, (uint32_t)PA_RSDT, 0);
	CHECK_EQ(run(RAM_BASE + RAM_SIZE - 20), -22); /* valid RSDP, but no RSDT */
	CHECK_LOG("no valid XSDT or RSDT");
}

static void test_root_errors(void)
{
	struct table t;
	uint64_t tabs[] = { PA_FADT, PA_MADT, PA_HPET };

	reset("bad XSDT checksum falls back to RSDT");
	machine_std();
	ram[PA_XSDT - RAM_BASE + 36] ^= 0x40;
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.use_xsdt);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_LOG("XSDT at 0x7fe00100 has a bad checksum");
	CHECK_LOG("falling back to the RSDT");

	reset("bad XSDT and RSDT");
	machine_std();
	ram[PA_XSDT - RAM_BASE + 36] ^= 0x40;
	ram[PA_RSDT - RAM_BASE + 36] ^= 0x40;
	CHECK_EQ(run(PA_RSDP), -22);
	CHECK(!acpi.present);

	reset("XSDT with a wrong signature");
	machine_std();
	memcpy(ram + (PA_XSDT - RAM_BASE), "XSDX", 4);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.use_xsdt);
	CHECK_LOG("signature 'XSDX', expected 'XSDT'");

	reset("root entries pointing nowhere are skipped");
	machine_std();
	{
		uint64_t bad[] = { 0,	    PA_UNMAPPED, RAM_BASE + RAM_SIZE - 4,
				   PA_FADT, PA_MADT,	 PA_HPET };
		xsdt(bad, 6);
	}
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_EQ(acpi.hpet_phys, 0xfed00000);

	reset("root table with a trailing partial entry");
	machine_std();
	sdt_header(&t, "XSDT", 1);
	for (int i = 0; i < 3; i++)
		u64(&t, tabs[i]);
	u32(&t, 0xdeadbeef); /* half an entry */
	place(&t, PA_XSDT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 4);
}

static void test_table_checksums(void)
{
	struct table t;
	uint64_t tabs[] = { PA_FADT, PA_MADT, PA_HPET, PA_MADT2 };

	reset("bad MADT checksum: skipped, FADT and HPET kept");
	machine_std();
	ram[PA_MADT - RAM_BASE + 50] ^= 0x10;
	CHECK_EQ(run(PA_RSDP), -2);
	CHECK(acpi.present);
	CHECK(!acpi.madt_found);
	CHECK_EQ(acpi.nr_cpus, 0);
	CHECK_EQ(acpi.pm_timer_port, 0x608);
	CHECK_EQ(acpi.hpet_phys, 0xfed00000);
	CHECK_LOG("WARNING: ACPI: APIC at 0x7fe02000 has a bad checksum, skipped");
	CHECK_LOG("no valid MADT");

	reset("a bad MADT followed by a good copy: the good one is used");
	machine_std();
	ram[PA_MADT - RAM_BASE + 50] ^= 0x10;
	madt_begin(&t, 5);
	e_lapic(&t, 0, 8, 1);
	e_lapic(&t, 1, 9, 1);
	place(&t, PA_MADT2);
	xsdt(tabs, 4);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 2);
	CHECK_EQ(acpi.cpus[0].apic_id, 8);

	reset("bad FADT and HPET checksums");
	machine_std();
	ram[PA_FADT - RAM_BASE + 200] ^= 1;
	ram[PA_HPET - RAM_BASE + 40] ^= 1;
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.fadt_found);
	CHECK_EQ(acpi.pm_timer_port, 0);
	CHECK(!acpi.reset_supported);
	CHECK_EQ(acpi.hpet_phys, 0);
	CHECK_LOG("FACP at 0x7fe01000 has a bad checksum");
	CHECK_LOG("HPET at 0x7fe03000 has a bad checksum");

	reset("table length shorter than its header / than the table type");
	machine_std();
	hpet_std(&t);
	place(&t, PA_HPET);
	set32(&t, 4, 20); /* length 20 < 36 */
	place_raw(&t, PA_HPET);
	madt_std(&t);
	t.n = 40; /* MADT shorter than its 44-byte fixed part, checksum valid */
	place(&t, PA_MADT);
	CHECK_EQ(run(PA_RSDP), -2);
	CHECK_EQ(acpi.hpet_phys, 0);
	CHECK_LOG("HPET at 0x7fe03000 has bad length 20");
	CHECK_LOG("APIC at 0x7fe02000 has bad length 40");

	reset("table length running past the end of memory");
	machine_std();
	madt_std(&t);
	place(&t, PA_MADT);
	set32(&t, 4, 0x100000); /* within the sanity bound, beyond RAM */
	place_raw(&t, PA_MADT);
	CHECK_EQ(run(PA_RSDP), -2);
	CHECK_LOG("runs outside mapped memory");

	reset("absurd table length");
	machine_std();
	set32(&t, 4, 0xfffffff0);
	place_raw(&t, PA_MADT);
	CHECK_EQ(run(PA_RSDP), -2);
	CHECK_LOG("bad length 4294967280");
}

/* Build a MADT from `t` into the standard machine and parse it. */
static int run_madt(struct table *t)
{
	struct table f;
	uint64_t tabs[] = { PA_FADT, PA_MADT, PA_HPET };

	fadt_std(&f);
	place(&f, PA_FADT);
	place(t, PA_MADT);
	hpet_std(&f);
	place(&f, PA_HPET);
	xsdt(tabs, 3);
	rsdp(PA_RSDP, 2, 0, PA_XSDT);
	return run(PA_RSDP);
}

static void test_malformed_entries(void)
{
	struct table t;

	reset("zero-length MADT entry stops the walk");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 1, 1, 1);
	u8(&t, 0), u8(&t, 0); /* type 0, length 0 */
	e_lapic(&t, 2, 2, 1);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 2);
	CHECK_LOG(
	    "ERROR: ACPI: MADT: malformed entry at offset 60 (type 0, length 0, 10 bytes left)");
	CHECK_LOG(
	    "ACPI: MADT: 2 CPUs (APIC ids 0 1), 0 disabled, LAPIC at 0xfee00000, 0 IOAPICs\n");

	reset("unknown type with length 0 stops the walk too");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	u8(&t, 0x7f), u8(&t, 0);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 1);

	reset("unknown type with length 1");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	/* Read with a 1-byte step, the next bytes would be a valid IOAPIC. */
	u8(&t, 0x20), u8(&t, 1), u8(&t, 12);
	for (int i = 0; i < 10; i++)
		u8(&t, 0);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 1);
	CHECK_EQ(acpi.nr_ioapics, 0);

	reset("entry running past the end of the table");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 1, 1, 1);
	u8(&t, 1), u8(&t, 12), u8(&t, 0), u8(&t, 0); /* IOAPIC, 12 bytes claimed, 4 present */
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 2);
	CHECK_EQ(acpi.nr_ioapics, 0);
	CHECK_LOG("length 12, 4 bytes left");

	reset("LAPIC entry shorter than 8 bytes");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	u8(&t, 0), u8(&t, 4), u8(&t, 1), u8(&t, 1);
	e_lapic(&t, 2, 2, 1);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 1);

	reset("x2APIC entry shorter than 16 bytes");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	u8(&t, 9), u8(&t, 8), u16(&t, 0), u32(&t, 0x100);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 1);

	reset("a lone trailing byte");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	u8(&t, 0);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 1);
	CHECK_LOG("1 bytes left");

	reset("longer entries than the spec's are accepted, unknown types skipped");
	madt_begin(&t, 5);
	u8(&t, 0), u8(&t, 10), u8(&t, 0), u8(&t, 3), u32(&t, 1), u16(&t, 0xffff); /* LAPIC + 2 */
	u8(&t, 0x11), u8(&t, 6), u32(&t, 0);					  /* unknown */
	u8(&t, 3), u8(&t, 8), u16(&t, 0), u32(&t, 0);				  /* NMI source */
	e_lapic(&t, 1, 4, 1);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(!acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 2);
	CHECK_EQ(acpi.cpus[0].apic_id, 3);
	CHECK_EQ(acpi.cpus[1].apic_id, 4);

	reset("MADT with no CPU at all");
	madt_begin(&t, 5);
	e_ioapic(&t, 0, 0xfec00000, 0);
	CHECK_EQ(run_madt(&t), -2);
	CHECK_LOG("ACPI: MADT: 0 CPUs (APIC ids none)");
	CHECK_LOG("MADT lists no usable CPU");
}

static void test_x2apic_and_override(void)
{
	struct table t;

	reset("x2APIC entries, duplicates, placeholder ids, 64-bit LAPIC override");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 1, 1, 1);
	e_lapic(&t, 0xfe, 0xff, 0);    /* placeholder id 0xff: ignored silently */
	e_x2apic(&t, 1, 1, 1);	       /* duplicate of APIC id 1 */
	e_x2apic(&t, 0x100, 1, 0x100); /* needs x2APIC */
	e_x2apic(&t, 0x12345678, 1, 77);
	e_x2apic(&t, 0xffffffff, 1, 78); /* placeholder */
	e_x2apic_nmi(&t, 0x100, 0xf, 0);
	e_lapic_nmi(&t, 1, 0xd, 1);
	e_lapic_nmi(&t, 2, 0, 7); /* LINT7 does not exist: ignored */
	e_override(&t, 0x1fee00000ull);
	CHECK_EQ(run_madt(&t), 0);
	CHECK(!acpi.madt_truncated);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_EQ(acpi.cpus[2].apic_id, 0x100);
	CHECK(acpi.cpus[2].x2apic_entry);
	CHECK_EQ(acpi.cpus[2].uid, 0x100);
	CHECK_EQ(acpi.cpus[3].apic_id, 0x12345678);
	CHECK_EQ(acpi.cpus[3].uid, 77);
	CHECK_EQ(acpi.nr_skipped, 1);
	CHECK_EQ(acpi.skipped[0].skip, ACPI_SKIP_DUPLICATE);
	CHECK_EQ(acpi.nr_disabled, 0);
	CHECK_EQ(acpi.lapic_phys, 0x1fee00000ull);
	CHECK_EQ(acpi.nr_lapic_nmis, 2);
	CHECK_EQ(acpi.lapic_nmis[0].uid, 0x100);
	CHECK_EQ(acpi.lapic_nmis[0].flags, 0xf);
	CHECK_EQ(acpi.lapic_nmis[0].lint, 0);
	CHECK_EQ(acpi.lapic_nmis[1].uid, 1);
	CHECK_LOG("4 CPUs (APIC ids 0 1 256 305419896), 0 disabled, LAPIC at 0x1fee00000");
	CHECK_LOG("skipped 1 CPU, duplicate APIC id (APIC ids 1)");
	CHECK_LOG("NMI on LINT7 ignored");
	CHECK_EQ(acpi_cpu_index(0x12345678), 3);
}

static void test_disabled_cpus(void)
{
	struct table t, f;
	uint64_t tabs[] = { PA_MADT, PA_FADT };

	reset("disabled and online-capable CPUs, ACPI 6.4");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 1, 1, 0); /* disabled */
	e_lapic(&t, 2, 2, 2); /* online-capable */
	e_lapic(&t, 3, 3, 3); /* enabled + reserved bit */
	e_x2apic(&t, 0x200, 0, 4);
	e_x2apic(&t, 0x201, 2, 5);
	CHECK_EQ(run_madt(&t), 0);
	CHECK_EQ(acpi.nr_cpus, 4);
	CHECK_EQ(acpi.cpus[1].apic_id, 2);
	CHECK_EQ(acpi.cpus[1].flags, ACPI_CPU_ONLINE_CAPABLE);
	CHECK_EQ(acpi.cpus[2].apic_id, 3);
	CHECK_EQ(acpi.cpus[2].flags, ACPI_CPU_ENABLED);
	CHECK_EQ(acpi.cpus[3].apic_id, 0x201);
	CHECK_EQ(acpi.nr_disabled, 2);
	CHECK_EQ(acpi.nr_skipped, 2);
	CHECK_EQ(acpi.skipped[0].apic_id, 1);
	CHECK_EQ(acpi.skipped[0].skip, ACPI_SKIP_DISABLED);
	CHECK_EQ(acpi.skipped[1].apic_id, 0x200);
	CHECK(acpi.skipped[1].x2apic_entry);
	CHECK_LOG("ACPI: MADT: 4 CPUs (APIC ids 0 2 3 513), 2 disabled");
	CHECK_LOG("2 of these CPUs online-capable");
	CHECK_LOG("skipped 2 CPUs, disabled by firmware (APIC ids 1 512)");

	reset("online-capable bit with ACPI 6.2 FADT is a reserved bit");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 2, 2, 2);
	fadt_std(&f);
	set8(&f, FADT_MINOR, 2);
	place(&f, PA_FADT);
	place(&t, PA_MADT);
	rsdt(tabs, 2);
	rsdp(PA_RSDP, 0, (uint32_t)PA_RSDT, 0);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 1);
	CHECK_EQ(acpi.nr_disabled, 1);
	CHECK_EQ(acpi.skipped[0].skip, ACPI_SKIP_OC_UNDEFINED);
	CHECK_LOG("ACPI: MADT: 1 CPU (APIC ids 0), 1 disabled");
	CHECK_LOG("online-capable bit set but ACPI < 6.3");

	reset("no FADT: MADT revision 5 decides, 45 (6.2 errata B) does not count");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	e_lapic(&t, 2, 2, 2);
	place(&t, PA_MADT);
	rsdt(tabs, 1);
	rsdp(PA_RSDP, 0, (uint32_t)PA_RSDT, 0);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 2);
	set8(&t, 8, 45);
	place(&t, PA_MADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.nr_cpus, 1);
}

static void test_too_many_cpus(void)
{
	struct table t;
	uint32_t n = ACPI_MAX_CPUS + 6;

	reset("more CPUs than ACPI_MAX_CPUS");
	madt_begin(&t, 5);
	for (uint32_t i = 0; i < n; i++)
		e_x2apic(&t, i, 1, i);
	CHECK_EQ(run_madt(&t), 0);
	CHECK_EQ(acpi.nr_cpus, ACPI_MAX_CPUS);
	CHECK_EQ(acpi.nr_skipped, 6);
	CHECK_EQ(acpi.nr_disabled, 0);
	CHECK_EQ(acpi.skipped[0].skip, ACPI_SKIP_TABLE_FULL);
	CHECK_EQ(acpi.skipped[0].apic_id, ACPI_MAX_CPUS);
	CHECK_LOG("CPUs ignored, over the limit of");
	CHECK_LOG(" ...), 0 disabled"); /* the id list is cut, not overflowed */

	reset("more skipped CPUs than ACPI_MAX_SKIPPED");
	madt_begin(&t, 5);
	e_lapic(&t, 0, 0, 1);
	for (uint32_t i = 0; i < ACPI_MAX_SKIPPED + 10; i++)
		e_x2apic(&t, 1000 + i, 0, i);
	CHECK_EQ(run_madt(&t), 0);
	CHECK_EQ(acpi.nr_cpus, 1);
	CHECK_EQ(acpi.nr_skipped, ACPI_MAX_SKIPPED + 10);
	CHECK_EQ(acpi.nr_disabled, ACPI_MAX_SKIPPED + 10);
	CHECK_LOG("10 more CPU entries skipped, not listed");
}

static void test_fadt_variants(void)
{
	struct table t;

	reset("X_PM_TMR_BLK (I/O) wins over PM_TMR_BLK");
	machine_std();
	fadt_std(&t);
	set32(&t, FADT_PM_TMR_BLK, 0x408);
	gas(&t, FADT_X_PM_TMR_BLK, ACPI_GAS_IO, 32, 0x1808);
	set32(&t, FADT_FLAGS, F_TMR_VAL_EXT);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.pm_timer_port, 0x1808);
	CHECK(acpi.pm_timer_32bit);
	CHECK(!acpi.reset_supported);

	reset("X_PM_TMR_BLK in memory space: PM_TMR_BLK used");
	machine_std();
	fadt_std(&t);
	gas(&t, FADT_X_PM_TMR_BLK, ACPI_GAS_MEMORY, 32, 0xfed80000);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.pm_timer_port, 0x608);
	CHECK_LOG("X_PM_TMR_BLK is in memory space");

	reset("X_PM_TMR_BLK beyond the 16-bit port range");
	machine_std();
	fadt_std(&t);
	gas(&t, FADT_X_PM_TMR_BLK, ACPI_GAS_IO, 32, 0x10008);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.pm_timer_port, 0);
	CHECK_LOG("is not an I/O port");

	reset("hardware-reduced: no PM timer");
	machine_std();
	fadt_std(&t);
	set32(&t, FADT_FLAGS, F_HW_REDUCED | F_RESET_REG_SUP);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(acpi.hw_reduced);
	CHECK_EQ(acpi.pm_timer_port, 0);
	CHECK(acpi.reset_supported);
	CHECK_LOG("hardware-reduced");

	reset("no PM timer at all");
	machine_std();
	fadt_std(&t);
	set32(&t, FADT_PM_TMR_BLK, 0);
	gas(&t, FADT_X_PM_TMR_BLK, 0, 0, 0);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.pm_timer_port, 0);
	CHECK(!log_has("PM timer at"));

	reset("reset register in memory and PCI config space; unusable ones");
	machine_std();
	fadt_std(&t);
	gas(&t, FADT_RESET_REG, ACPI_GAS_MEMORY, 8, 0xfed03000);
	set8(&t, FADT_RESET_VALUE, 0x0e);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(acpi.reset_supported);
	CHECK_EQ(acpi.reset_reg.space, ACPI_GAS_MEMORY);
	CHECK_EQ(acpi.reset_reg.address, 0xfed03000);
	CHECK_EQ(acpi.reset_value, 0x0e);
	gas(&t, FADT_RESET_REG, ACPI_GAS_PCI_CONFIG, 8, (1ull << 32) | 0x44);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(acpi.reset_supported);
	CHECK_EQ(acpi.reset_reg.space, ACPI_GAS_PCI_CONFIG);
	gas(&t, FADT_RESET_REG, 0x7f, 8, 0x1234);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.reset_supported);
	CHECK_LOG("reset register unusable");
	gas(&t, FADT_RESET_REG, ACPI_GAS_IO, 8, 0);
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.reset_supported);

	reset("FADT shorter than ACPI 1.0's");
	machine_std();
	fadt_std(&t);
	t.n = 100;
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK(!acpi.fadt_found);
	CHECK_LOG("FACP at 0x7fe01000 has bad length 100");

	reset("FADT cut just before X_PM_TMR_BLK ends");
	machine_std();
	fadt_std(&t);
	gas(&t, FADT_X_PM_TMR_BLK, ACPI_GAS_IO, 32, 0x1808);
	t.n = FADT_X_PM_TMR_BLK + 11;
	place(&t, PA_FADT);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.pm_timer_port, 0x608); /* the X field is not there */
}

static void test_hpet_variants(void)
{
	struct table t;

	reset("HPET in I/O space is ignored");
	machine_std();
	hpet_std(&t);
	set8(&t, 40, ACPI_GAS_IO);
	place(&t, PA_HPET);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.hpet_phys, 0);
	CHECK_LOG("HPET base is I/O port");

	reset("HPET with base 0 is ignored");
	machine_std();
	hpet_std(&t);
	set64(&t, 44, 0);
	place(&t, PA_HPET);
	CHECK_EQ(run(PA_RSDP), 0);
	CHECK_EQ(acpi.hpet_phys, 0);
}

/* Random MADTs: the parser must neither fault (ASan) nor loop (alarm). */
static void test_fuzz_madt(void)
{
	struct table t;
	unsigned seed = 12345;

	reset("fuzz MADT");
	verbose = 0;
	for (int iter = 0; iter < 20000; iter++) {
		int entries = rand_r(&seed) % 12;

		madt_begin(&t, rand_r(&seed) % 8);
		for (int e = 0; e < entries; e++) {
			int kind = rand_r(&seed) % 4;

			if (kind == 0)
				e_lapic(&t, rand_r(&seed), rand_r(&seed), rand_r(&seed) % 4);
			else if (kind == 1)
				e_x2apic(&t, rand_r(&seed) % 300, rand_r(&seed) % 4, rand_r(&seed));
			else if (kind == 2)
				e_iso(&t, rand_r(&seed), rand_r(&seed), rand_r(&seed));
			else {
				int len = rand_r(&seed) % 24;

				for (int i = 0; i < len; i++)
					u8(&t, rand_r(&seed));
			}
		}
		/* Flip a few bytes anywhere after the fixed part. */
		for (int k = rand_r(&seed) % 4; k > 0 && t.n > 44; k--)
			t.b[44 + rand_r(&seed) % (t.n - 44)] = rand_r(&seed);
		memset(ram, 0, sizeof(ram));
		logbuf[0] = '\0';
		loglen = 0;
		int r = run_madt(&t);
		CHECK(r == 0 || r == -2);
		CHECK(acpi.nr_cpus <= ACPI_MAX_CPUS);
		CHECK(acpi.nr_ioapics <= ACPI_MAX_IOAPICS);
		CHECK(acpi.nr_isos <= ACPI_MAX_ISOS);
		for (uint32_t i = 0; i < acpi.nr_cpus; i++)
			CHECK(acpi.cpus[i].flags & (ACPI_CPU_ENABLED | ACPI_CPU_ONLINE_CAPABLE));
	}
	verbose = getenv("ACPI_TEST_VERBOSE") != NULL;
}

int main(void)
{
	verbose = getenv("ACPI_TEST_VERBOSE") != NULL;
	alarm(120); /* a parser loop is a failure, not a hung CI */
	test_standard_machine();
	test_rsdt_only();
	test_rsdp_errors();
	test_root_errors();
	test_table_checksums();
	test_malformed_entries();
	test_x2apic_and_override();
	test_disabled_cpus();
	test_too_many_cpus();
	test_fadt_variants();
	test_hpet_variants();
	test_fuzz_madt();
	reset("done");
	printf("acpi_test: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
