/*
 * arch/x86_64/acpi.c - parse the ACPI static tables the kernel needs, and
 * reboot the machine.
 *
 * What it does: from the RSDP the loader found, walk the XSDT (ACPI 2.0+,
 * 64-bit entries) or the RSDT (32-bit entries) and read three tables:
 *   - FADT ("FACP"): PM timer port and width, reset register, hardware-
 *     reduced flag, ACPI version (which decides whether the MADT's
 *     online-capable bit means anything);
 *   - HPET ("HPET"): base address of the event timer block;
 *   - MADT ("APIC"): local APIC address, one entry per processor (type 0,
 *     8-bit APIC id; type 9, 32-bit x2APIC id), IOAPICs (type 1), ISA
 *     interrupt source overrides (type 2), LINT NMI wiring (types 4, 10) and
 *     the 64-bit local APIC address override (type 5).
 * The result goes into the global `acpi` (acpi.h), written once on the BSP
 * before the APs start and read-only afterwards: no lock.
 *
 * Hardware and firmware facts relied on (ACPI 6.x, chapter 5.2):
 *   - RSDP: "RSD PTR ", checksum over the first 20 bytes; revision >= 2 adds
 *     Length, XsdtAddress and an extended checksum over Length bytes.
 *   - Every system description table starts with the 36-byte header below;
 *     all its bytes (Length of them) sum to 0 mod 256.
 *   - MADT entries are {type, length, ...}, packed back to back after the
 *     44-byte MADT header, unaligned.
 *   - Processor flags: bit 0 Enabled; bit 1 Online Capable, defined since
 *     ACPI 6.3 only (reserved before). Linux judges "6.3" by the FADT version
 *     (major.minor), because ACPI 6.2 errata B already used MADT revision 45;
 *     so does this file.
 *   - Tables live in RAM the firmware reports (ACPI reclaim / NVS / reserved),
 *     which the kernel keeps mapped at phys_to_virt() (mm/vmalloc.h).
 *
 * Why so defensive: firmware tables are input. A bad checksum, a length that
 * runs past the table or an entry of length 0 must give a log line and a
 * partial result, never a fault or an endless loop. Only the RSDP and the
 * root table are essential: without them acpi_init() fails and the kernel
 * runs on the BSP alone.
 *
 * The parser is also compiled on the host (-DACPI_HOST_TEST, see
 * tests/host/acpi_test.c), where acpi_host_map() replaces the direct map and
 * the reboot code is left out.
 */
#include "arch/x86_64/acpi.h"
#include "arch/arch.h"
#include "kernel/printk.h"
#include "kernel/string.h"

#ifndef ACPI_HOST_TEST
#include "arch/x86_64/asm.h"
#include "arch/x86_64/clock.h"
#include "mm/vmalloc.h"
#endif

#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef EINVAL
#define EINVAL 22
#endif

struct acpi_info acpi;

/* ---- table layouts ------------------------------------------------------ */

#define RSDP_SIGNATURE	   "RSD PTR "
#define RSDP_V1_LEN	   20 /* bytes covered by the first checksum */
#define RSDP_V2_LEN	   36
#define ACPI_MAX_TABLE_LEN (1u << 20) /* sanity bound on tables we checksum */

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	/* revision >= 2 */
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __packed;

struct acpi_sdt_header {
	char signature[4];
	uint32_t length; /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __packed;

struct acpi_gas_raw {
	uint8_t space;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __packed;

struct acpi_madt {
	struct acpi_sdt_header hdr;
	uint32_t lapic_address;
	uint32_t flags;
	/* entries follow */
} __packed;
#define MADT_PCAT_COMPAT (1u << 0)

enum madt_type {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_NMI_SOURCE = 3,
	MADT_LAPIC_NMI = 4,
	MADT_LAPIC_OVERRIDE = 5,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 10,
};

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __packed;

struct madt_lapic {
	struct madt_entry e;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __packed;

struct madt_ioapic {
	struct madt_entry e;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __packed;

struct madt_iso {
	struct madt_entry e;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __packed;

struct madt_lapic_nmi {
	struct madt_entry e;
	uint8_t uid;
	uint16_t flags;
	uint8_t lint;
} __packed;

struct madt_lapic_override {
	struct madt_entry e;
	uint16_t reserved;
	uint64_t address;
} __packed;

struct madt_x2apic {
	struct madt_entry e;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __packed;

struct madt_x2apic_nmi {
	struct madt_entry e;
	uint16_t flags;
	uint32_t uid;
	uint8_t lint;
	uint8_t reserved[3];
} __packed;

#define MADT_INVALID_APIC_ID   0xffu	   /* type 0 placeholder entry */
#define MADT_INVALID_X2APIC_ID 0xffffffffu /* type 9 placeholder entry */

/* FADT up to the fields we read; older (shorter) FADTs are handled by
 * FADT_HAS(). Offsets are checked below. */
struct acpi_fadt {
	struct acpi_sdt_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas_raw reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version; /* bits 0-3 minor, 4-7 errata */
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas_raw x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk;
	struct acpi_gas_raw x_pm1b_cnt_blk, x_pm2_cnt_blk;
	struct acpi_gas_raw x_pm_tmr_blk;
} __packed;

#define FADT_V1_LEN	     offsetof(struct acpi_fadt, reset_reg) /* 116: ACPI 1.0 */
#define FADT_TMR_VAL_EXT     (1u << 8)
#define FADT_RESET_REG_SUP   (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_PM_TMR_LEN	     4
#define FADT_HAS(f, field) \
	(offsetof(struct acpi_fadt, field) + sizeof((f)->field) <= (f)->hdr.length)

struct acpi_hpet {
	struct acpi_sdt_header hdr;
	uint32_t event_timer_block_id;
	struct acpi_gas_raw base;
	uint8_t hpet_number;
	uint16_t min_tick;
	uint8_t page_protection;
} __packed;

BUILD_BUG_ON(sizeof(struct acpi_rsdp) != RSDP_V2_LEN);
BUILD_BUG_ON(sizeof(struct acpi_sdt_header) != 36);
BUILD_BUG_ON(sizeof(struct acpi_gas_raw) != 12);
BUILD_BUG_ON(sizeof(struct acpi_madt) != 44);
BUILD_BUG_ON(sizeof(struct madt_lapic) != 8);
BUILD_BUG_ON(sizeof(struct madt_ioapic) != 12);
BUILD_BUG_ON(sizeof(struct madt_iso) != 10);
BUILD_BUG_ON(sizeof(struct madt_lapic_nmi) != 6);
BUILD_BUG_ON(sizeof(struct madt_lapic_override) != 12);
BUILD_BUG_ON(sizeof(struct madt_x2apic) != 16);
BUILD_BUG_ON(sizeof(struct madt_x2apic_nmi) != 12);
BUILD_BUG_ON(offsetof(struct acpi_fadt, pm_tmr_blk) != 76);
BUILD_BUG_ON(offsetof(struct acpi_fadt, pm_tmr_len) != 91);
BUILD_BUG_ON(offsetof(struct acpi_fadt, iapc_boot_arch) != 109);
BUILD_BUG_ON(offsetof(struct acpi_fadt, flags) != 112);
BUILD_BUG_ON(offsetof(struct acpi_fadt, reset_reg) != 116);
BUILD_BUG_ON(offsetof(struct acpi_fadt, reset_value) != 128);
BUILD_BUG_ON(offsetof(struct acpi_fadt, minor_version) != 131);
BUILD_BUG_ON(offsetof(struct acpi_fadt, x_pm_tmr_blk) != 208);
BUILD_BUG_ON(sizeof(struct acpi_hpet) != 56);

/* ---- mapping and validation --------------------------------------------- */

/* A pointer to len bytes at physical address phys, or NULL if unreachable. */
static const void *acpi_map(uint64_t phys, size_t len)
{
#ifdef ACPI_HOST_TEST
	return acpi_host_map(phys, len);
#else
	if (phys == 0 || len > DIRECT_MAP_SIZE || phys > DIRECT_MAP_SIZE - len)
		return NULL;
	return phys_to_virt(phys);
#endif
}

static uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

/* Copy a fixed-size, not NUL-terminated firmware string. */
static void acpi_copy_id(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * Map and fully validate the table at phys: reachable, signature sig (if not
 * NULL), length within [min_len, ACPI_MAX_TABLE_LEN], checksum. Logs why and
 * returns NULL if any check fails.
 */
static const struct acpi_sdt_header *acpi_map_table(uint64_t phys, const char *sig,
						    uint32_t min_len)
{
	const struct acpi_sdt_header *h = acpi_map(phys, sizeof(*h));
	char name[5];

	if (!h) {
		pr_warn("ACPI: table at 0x%lx is outside mapped memory\n", phys);
		return NULL;
	}
	acpi_copy_id(name, h->signature, 4);
	if (sig && memcmp(h->signature, sig, 4) != 0) {
		pr_warn("ACPI: table at 0x%lx has signature '%s', expected '%s'\n", phys, name,
			sig);
		return NULL;
	}
	if (h->length < min_len || h->length > ACPI_MAX_TABLE_LEN) {
		pr_warn("ACPI: %s at 0x%lx has bad length %u (min %u, max %u), skipped\n", name,
			phys, h->length, min_len, ACPI_MAX_TABLE_LEN);
		return NULL;
	}
	h = acpi_map(phys, h->length);
	if (!h) {
		pr_warn("ACPI: %s at 0x%lx runs outside mapped memory\n", name, phys);
		return NULL;
	}
	if (acpi_sum(h, h->length) != 0) {
		pr_warn("ACPI: %s at 0x%lx has a bad checksum, skipped\n", name, phys);
		return NULL;
	}
	return h;
}

/* ---- RSDP and root table ------------------------------------------------ */

static const struct acpi_sdt_header *acpi_root; /* XSDT or RSDT */

static int acpi_check_rsdp(uint64_t phys, const struct acpi_rsdp **out)
{
	const struct acpi_rsdp *r = acpi_map(phys, RSDP_V1_LEN);

	if (!r) {
		pr_err("ACPI: RSDP at 0x%lx is outside mapped memory\n", phys);
		return -EINVAL;
	}
	if (memcmp(r->signature, RSDP_SIGNATURE, 8) != 0) {
		pr_err("ACPI: no RSDP signature at 0x%lx\n", phys);
		return -EINVAL;
	}
	if (acpi_sum(r, RSDP_V1_LEN) != 0) {
		pr_err("ACPI: RSDP at 0x%lx has a bad checksum\n", phys);
		return -EINVAL;
	}
	if (r->revision >= 2) {
		r = acpi_map(phys, RSDP_V2_LEN);
		if (!r || r->length < RSDP_V2_LEN || r->length > PAGE_SIZE ||
		    !(r = acpi_map(phys, r->length))) {
			pr_err("ACPI: RSDP at 0x%lx has a bad length\n", phys);
			return -EINVAL;
		}
		if (acpi_sum(r, r->length) != 0) {
			pr_err("ACPI: RSDP at 0x%lx has a bad extended checksum\n", phys);
			return -EINVAL;
		}
	}
	*out = r;
	return 0;
}

/* Pick the XSDT if the RSDP has a valid one, else the RSDT. */
static int acpi_find_root(const struct acpi_rsdp *r)
{
	const struct acpi_sdt_header *root = NULL;
	uint64_t phys = 0;

	if (r->revision >= 2 && r->xsdt_address) {
		phys = r->xsdt_address;
		root = acpi_map_table(phys, "XSDT", sizeof(*root));
		acpi.use_xsdt = root != NULL;
		if (!root && r->rsdt_address)
			pr_warn("ACPI: XSDT unusable, falling back to the RSDT\n");
	}
	if (!root && r->rsdt_address) {
		phys = r->rsdt_address;
		root = acpi_map_table(phys, "RSDT", sizeof(*root));
	}
	if (!root) {
		pr_err("ACPI: no valid XSDT or RSDT\n");
		return -EINVAL;
	}
	acpi_root = root;
	pr_info("ACPI: RSDP rev %u (OEM '%s'), %s at 0x%lx\n", r->revision, acpi.oem_id,
		acpi.use_xsdt ? "XSDT" : "RSDT", phys);
	return 0;
}

static size_t acpi_root_entry_size(void)
{
	return acpi.use_xsdt ? 8 : 4;
}

static uint32_t acpi_root_count(void)
{
	return (acpi_root->length - sizeof(*acpi_root)) / acpi_root_entry_size();
}

/* Entry i of the root table; entries are not necessarily aligned. */
static uint64_t acpi_root_entry(uint32_t i)
{
	const uint8_t *p = (const uint8_t *)(acpi_root + 1) + i * acpi_root_entry_size();
	uint64_t v64;
	uint32_t v32;

	if (acpi.use_xsdt) {
		memcpy(&v64, p, sizeof(v64));
		return v64;
	}
	memcpy(&v32, p, sizeof(v32));
	return v32;
}

/* The first valid table with this signature listed in the root table. */
static const void *acpi_find_table(const char *sig, uint32_t min_len)
{
	for (uint32_t i = 0; i < acpi_root_count(); i++) {
		uint64_t phys = acpi_root_entry(i);
		const struct acpi_sdt_header *h = acpi_map(phys, sizeof(*h));
		const struct acpi_sdt_header *t;

		if (!h || memcmp(h->signature, sig, 4) != 0)
			continue;
		t = acpi_map_table(phys, sig, min_len);
		if (t)
			return t;
	}
	return NULL;
}

/* ---- FADT --------------------------------------------------------------- */

static void acpi_gas_decode(struct acpi_gas *g, const struct acpi_gas_raw *raw)
{
	g->space = raw->space;
	g->bit_width = raw->bit_width;
	g->bit_offset = raw->bit_offset;
	g->access_size = raw->access_size;
	g->address = raw->address;
}

static const char *acpi_gas_space_name(uint8_t space)
{
	switch (space) {
	case ACPI_GAS_MEMORY:
		return "memory";
	case ACPI_GAS_IO:
		return "I/O port";
	case ACPI_GAS_PCI_CONFIG:
		return "PCI config";
	default:
		return "unsupported space";
	}
}

/* PM timer: X_PM_TMR_BLK if it is an I/O-space GAS, else PM_TMR_BLK. */
static void fadt_pm_timer(const struct acpi_fadt *f, uint32_t flags)
{
	uint64_t port = 0;

	if (acpi.hw_reduced)
		return; /* no fixed hardware: the PM timer fields are ignored */
	if (FADT_HAS(f, x_pm_tmr_blk) && f->x_pm_tmr_blk.address) {
		if (f->x_pm_tmr_blk.space == ACPI_GAS_IO)
			port = f->x_pm_tmr_blk.address;
		else
			pr_warn("ACPI: X_PM_TMR_BLK is in %s space, using PM_TMR_BLK\n",
				acpi_gas_space_name(f->x_pm_tmr_blk.space));
	}
	if (!port) {
		port = f->pm_tmr_blk;
		if (port && f->pm_tmr_len != FADT_PM_TMR_LEN)
			pr_warn("ACPI: PM_TMR_LEN is %u, expected 4\n", f->pm_tmr_len);
	}
	if (!port)
		return;
	if (port > 0xffff) {
		pr_warn("ACPI: PM timer port 0x%lx is not an I/O port, ignored\n", port);
		return;
	}
	acpi.pm_timer_port = (uint16_t)port;
	acpi.pm_timer_32bit = flags & FADT_TMR_VAL_EXT;
	pr_info("ACPI: PM timer at port 0x%x (%s-bit)\n", acpi.pm_timer_port,
		acpi.pm_timer_32bit ? "32" : "24");
}

/* Reset register: RESET_REG_SUP and a register in a space we can write. */
static void fadt_reset_reg(const struct acpi_fadt *f, uint32_t flags)
{
	struct acpi_gas g;

	if (!(flags & FADT_RESET_REG_SUP) || !FADT_HAS(f, reset_value))
		return;
	acpi_gas_decode(&g, &f->reset_reg);
	if (g.address == 0 || g.space > ACPI_GAS_PCI_CONFIG) {
		pr_warn("ACPI: reset register unusable (%s, address 0x%lx)\n",
			acpi_gas_space_name(g.space), g.address);
		return;
	}
	if (g.bit_width != 8 || g.bit_offset != 0)
		pr_warn("ACPI: reset register is %u bits at offset %u, spec says 8 at 0\n",
			g.bit_width, g.bit_offset);
	acpi.reset_reg = g;
	acpi.reset_value = f->reset_value;
	acpi.reset_supported = true;
	pr_info("ACPI: reset register: %s 0x%lx <- 0x%x\n", acpi_gas_space_name(g.space), g.address,
		acpi.reset_value);
}

static void acpi_parse_fadt(const struct acpi_fadt *f)
{
	uint32_t flags = f->flags; /* present in every FADT (>= FADT_V1_LEN) */

	acpi.fadt_found = true;
	acpi.fadt_revision = f->hdr.revision;
	acpi.fadt_minor = FADT_HAS(f, minor_version) ? (f->minor_version & 0xf) : 0;
	acpi.hw_reduced = flags & FADT_HW_REDUCED_ACPI;
	acpi.iapc_boot_arch = f->iapc_boot_arch;
	if (acpi.hw_reduced)
		pr_info("ACPI: hardware-reduced ACPI (no PM timer, no fixed hardware)\n");
	fadt_pm_timer(f, flags);
	fadt_reset_reg(f, flags);
}

/* ---- HPET --------------------------------------------------------------- */

static void acpi_parse_hpet(const struct acpi_hpet *h)
{
	if (h->base.space != ACPI_GAS_MEMORY || h->base.address == 0) {
		pr_warn("ACPI: HPET base is %s 0x%lx, ignored\n",
			acpi_gas_space_name(h->base.space), h->base.address);
		return;
	}
	acpi.hpet_phys = h->base.address;
	acpi.hpet_number = h->hpet_number;
	acpi.hpet_min_tick = h->min_tick;
	pr_info("ACPI: HPET at 0x%lx\n", acpi.hpet_phys);
}

/* ---- MADT --------------------------------------------------------------- */

/* ACPI 6.3 or later, where the Online Capable flag is defined. */
static bool acpi_online_capable_defined(uint8_t madt_revision)
{
	if (acpi.fadt_found)
		return acpi.fadt_revision > 6 || (acpi.fadt_revision == 6 && acpi.fadt_minor >= 3);
	return madt_revision >= 5 && madt_revision != 45; /* 45: ACPI 6.2 errata B */
}

int acpi_cpu_index(uint32_t apic_id)
{
	for (uint32_t i = 0; i < acpi.nr_cpus; i++)
		if (acpi.cpus[i].apic_id == apic_id)
			return (int)i;
	return -1;
}

static void madt_skip_cpu(struct acpi_cpu c, enum acpi_cpu_skip why)
{
	c.skip = why;
	if (acpi.nr_skipped < ACPI_MAX_SKIPPED)
		acpi.skipped[acpi.nr_skipped] = c;
	acpi.nr_skipped++;
	if (why == ACPI_SKIP_DISABLED || why == ACPI_SKIP_OC_UNDEFINED)
		acpi.nr_disabled++;
}

static void madt_add_cpu(uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic_entry,
			 bool oc_defined)
{
	struct acpi_cpu c = {
		.apic_id = apic_id, .uid = uid, .flags = flags, .x2apic_entry = x2apic_entry
	};

	if (!(flags & ACPI_CPU_ENABLED)) {
		if (!(flags & ACPI_CPU_ONLINE_CAPABLE))
			return madt_skip_cpu(c, ACPI_SKIP_DISABLED);
		if (!oc_defined)
			return madt_skip_cpu(c, ACPI_SKIP_OC_UNDEFINED);
	}
	c.flags &= ACPI_CPU_ENABLED | ACPI_CPU_ONLINE_CAPABLE;
	if (c.flags & ACPI_CPU_ENABLED)
		c.flags &= ~ACPI_CPU_ONLINE_CAPABLE; /* reserved when Enabled */
	if (acpi_cpu_index(apic_id) >= 0)
		return madt_skip_cpu(c, ACPI_SKIP_DUPLICATE);
	if (acpi.nr_cpus == ACPI_MAX_CPUS)
		return madt_skip_cpu(c, ACPI_SKIP_TABLE_FULL);
	acpi.cpus[acpi.nr_cpus++] = c;
}

static void madt_add_ioapic(const struct madt_ioapic *e)
{
	if (acpi.nr_ioapics == ACPI_MAX_IOAPICS) {
		pr_warn("ACPI: MADT: IOAPIC %u ignored, more than %u\n", e->id, ACPI_MAX_IOAPICS);
		return;
	}
	acpi.ioapics[acpi.nr_ioapics++] =
	    (struct acpi_ioapic){ .id = e->id, .phys = e->address, .gsi_base = e->gsi_base };
}

static void madt_add_iso(const struct madt_iso *e)
{
	if (acpi.nr_isos == ACPI_MAX_ISOS) {
		pr_warn("ACPI: MADT: override of IRQ %u ignored, more than %u\n", e->source,
			ACPI_MAX_ISOS);
		return;
	}
	acpi.isos[acpi.nr_isos++] = (struct acpi_iso){
		.bus = e->bus, .source = e->source, .gsi = e->gsi, .flags = e->flags
	};
}

static void madt_add_lapic_nmi(uint32_t uid, uint16_t flags, uint8_t lint)
{
	if (lint > 1) {
		pr_warn("ACPI: MADT: NMI on LINT%u ignored\n", lint);
		return;
	}
	if (acpi.nr_lapic_nmis == ACPI_MAX_LAPIC_NMIS)
		return; /* one per CPU at most, and we only use the BSP's */
	acpi.lapic_nmis[acpi.nr_lapic_nmis++] =
	    (struct acpi_lapic_nmi){ .uid = uid, .flags = flags, .lint = lint };
}

/* Smallest valid length of each entry type we read; 2 for the others. */
static uint8_t madt_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:
		return sizeof(struct madt_lapic);
	case MADT_IOAPIC:
		return sizeof(struct madt_ioapic);
	case MADT_ISO:
		return sizeof(struct madt_iso);
	case MADT_LAPIC_NMI:
		return sizeof(struct madt_lapic_nmi);
	case MADT_LAPIC_OVERRIDE:
		return sizeof(struct madt_lapic_override);
	case MADT_X2APIC:
		return sizeof(struct madt_x2apic);
	case MADT_X2APIC_NMI:
		return sizeof(struct madt_x2apic_nmi);
	default:
		return sizeof(struct madt_entry);
	}
}

/* One entry whose length has been checked against madt_min_len(). */
static void madt_entry(const struct madt_entry *e, bool oc_defined)
{
	const struct madt_lapic *la = (const void *)e;
	const struct madt_x2apic *x2 = (const void *)e;
	const struct madt_lapic_nmi *ln = (const void *)e;
	const struct madt_x2apic_nmi *xn = (const void *)e;
	const struct madt_lapic_override *lo = (const void *)e;

	switch (e->type) {
	case MADT_LAPIC:
		if (la->apic_id != MADT_INVALID_APIC_ID)
			madt_add_cpu(la->apic_id, la->uid, la->flags, false, oc_defined);
		break;
	case MADT_X2APIC:
		if (x2->x2apic_id != MADT_INVALID_X2APIC_ID)
			madt_add_cpu(x2->x2apic_id, x2->uid, x2->flags, true, oc_defined);
		break;
	case MADT_IOAPIC:
		madt_add_ioapic((const void *)e);
		break;
	case MADT_ISO:
		madt_add_iso((const void *)e);
		break;
	case MADT_LAPIC_NMI:
		madt_add_lapic_nmi(ln->uid == ACPI_UID_ALL_CPUS_8 ? ACPI_UID_ALL_CPUS_32 : ln->uid,
				   ln->flags, ln->lint);
		break;
	case MADT_X2APIC_NMI:
		madt_add_lapic_nmi(xn->uid, xn->flags, xn->lint);
		break;
	case MADT_LAPIC_OVERRIDE:
		acpi.lapic_phys = lo->address;
		break;
	default:
		break; /* NMI sources, SAPIC, GIC, wakeup mailbox...: not used */
	}
}

/*
 * Walk the entries. Each must have a length >= 2 (>= its type's minimum for
 * the types we read) and end inside the table; the first that does not stops
 * the walk, so a zero length can never loop.
 */
static void madt_walk(const struct acpi_madt *m)
{
	const uint8_t *base = (const uint8_t *)m;
	uint32_t off = sizeof(*m);
	bool oc_defined = acpi_online_capable_defined(m->hdr.revision);

	while (off < m->hdr.length) {
		const struct madt_entry *e = (const void *)(base + off);
		uint32_t left = m->hdr.length - off;

		if (left < sizeof(*e) || e->length < madt_min_len(e->type) || e->length > left) {
			pr_err("ACPI: MADT: malformed entry at offset %u (type %u, length %u, %u "
			       "bytes "
			       "left): ignoring the rest of the table\n",
			       off, left >= 1 ? base[off] : 0, left >= sizeof(*e) ? e->length : 0,
			       left);
			acpi.madt_truncated = true;
			return;
		}
		madt_entry(e, oc_defined);
		off += e->length;
	}
}

static const char *plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

/* " 0 1 2 3" for the CPUs of cpus[] (with skip reason `why`, 0 = all). */
static void format_ids(char *buf, size_t size, const struct acpi_cpu *cpus, uint32_t n, int why)
{
	static const char more[] = " ...";
	size_t len = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		int w;

		if (why && cpus[i].skip != why)
			continue;
		w = snprintf(buf + len, size - len, " %u", cpus[i].apic_id);
		if (w < 0 || (size_t)w >= size - len - (sizeof(more) - 1)) {
			buf[len] = '\0';
			snprintf(buf + len, size - len, "%s", more);
			return;
		}
		len += w;
	}
}

static void madt_log_skipped(void)
{
	static const struct {
		int why;
		const char *what;
	} reasons[] = {
		{ ACPI_SKIP_DISABLED, "disabled by firmware" },
		{ ACPI_SKIP_OC_UNDEFINED,
		  "online-capable bit set but ACPI < 6.3, treated as disabled" },
		{ ACPI_SKIP_DUPLICATE, "duplicate APIC id" },
		{ ACPI_SKIP_TABLE_FULL, "over the CPU limit" },
	};
	uint32_t shown = MIN(acpi.nr_skipped, (uint32_t)ACPI_MAX_SKIPPED);
	char ids[160];

	for (size_t r = 0; r < ARRAY_SIZE(reasons); r++) {
		uint32_t count = 0;

		for (uint32_t i = 0; i < shown; i++)
			count += acpi.skipped[i].skip == reasons[r].why;
		if (!count)
			continue;
		format_ids(ids, sizeof(ids), acpi.skipped, shown, reasons[r].why);
		if (reasons[r].why == ACPI_SKIP_TABLE_FULL)
			pr_warn("ACPI: MADT: %u CPU%s ignored, over the limit of %u (APIC ids%s)\n",
				count, plural(count), ACPI_MAX_CPUS, ids);
		else
			pr_info("ACPI: MADT: skipped %u CPU%s, %s (APIC ids%s)\n", count,
				plural(count), reasons[r].what, ids);
	}
	if (acpi.nr_skipped > shown)
		pr_info("ACPI: MADT: %u more CPU entries skipped, not listed\n",
			acpi.nr_skipped - shown);
}

static void madt_log(void)
{
	uint32_t online_capable = 0;
	char ids[160];

	for (uint32_t i = 0; i < acpi.nr_cpus; i++)
		online_capable += !(acpi.cpus[i].flags & ACPI_CPU_ENABLED);
	format_ids(ids, sizeof(ids), acpi.cpus, acpi.nr_cpus, 0);
	pr_info("ACPI: MADT: %u CPU%s (APIC ids%s), %u disabled, LAPIC at 0x%lx, %u IOAPIC%s\n",
		acpi.nr_cpus, plural(acpi.nr_cpus), acpi.nr_cpus ? ids : " none", acpi.nr_disabled,
		acpi.lapic_phys, acpi.nr_ioapics, plural(acpi.nr_ioapics));
	if (online_capable)
		pr_info("ACPI: MADT: %u of these CPUs online-capable, not enabled at boot\n",
			online_capable);
	madt_log_skipped();
}

static void acpi_parse_madt(const struct acpi_madt *m)
{
	acpi.madt_found = true;
	acpi.lapic_phys = m->lapic_address;
	acpi.pcat_compat = m->flags & MADT_PCAT_COMPAT;
	madt_walk(m);
	madt_log();
}

/* ---- entry point -------------------------------------------------------- */

int acpi_init(uint64_t rsdp_phys)
{
	const struct acpi_rsdp *rsdp;
	const void *t;
	int err;

	memset(&acpi, 0, sizeof(acpi));
	acpi_root = NULL;
	if (!rsdp_phys) {
		pr_warn("ACPI: the loader found no RSDP\n");
		return -ENOENT;
	}
	err = acpi_check_rsdp(rsdp_phys, &rsdp);
	if (err)
		return err;
	acpi.rsdp_revision = rsdp->revision;
	acpi_copy_id(acpi.oem_id, rsdp->oem_id, sizeof(rsdp->oem_id));
	err = acpi_find_root(rsdp);
	if (err)
		return err;
	acpi.present = true;

	/* FADT first: its version decides how the MADT flags are read. */
	if ((t = acpi_find_table("FACP", FADT_V1_LEN)))
		acpi_parse_fadt(t);
	else
		pr_warn("ACPI: no valid FADT: no PM timer, no reset register\n");
	if ((t = acpi_find_table("HPET", sizeof(struct acpi_hpet))))
		acpi_parse_hpet(t);
	t = acpi_find_table("APIC", sizeof(struct acpi_madt));
	if (!t) {
		pr_err("ACPI: no valid MADT: cannot find the other CPUs\n");
		return -ENOENT;
	}
	acpi_parse_madt(t);
	if (acpi.nr_cpus == 0) {
		pr_err("ACPI: MADT lists no usable CPU\n");
		return -ENOENT;
	}
	return 0;
}

/* ---- reboot ------------------------------------------------------------- */

#ifndef ACPI_HOST_TEST

#define PCI_CONFIG_ADDRESS    0xcf8
#define PCI_CONFIG_DATA	      0xcfc
#define PCI_CONFIG_ENABLE     (1u << 31)
#define RESET_CONTROL_PORT    0xcf9 /* chipset Reset Control Register */
#define RCR_SYS_RST	      0x02  /* hard reset when RST_CPU is written */
#define RCR_RST_CPU	      0x04
#define KBC_STATUS_PORT	      0x64
#define KBC_STATUS_INPUT_FULL 0x02
#define KBC_CMD_PULSE_RESET   0xfe
#define KBC_WAIT_US	      100000
#define RESET_SETTLE_MS	      50

/* Byte write to PCI configuration space of bus 0, as the GAS encodes it:
 * device in address bits 32-47, function in 16-31, offset in 0-15. */
static void pci_bus0_write8(uint64_t gas_address, uint8_t v)
{
	uint32_t dev = (gas_address >> 32) & 0x1f;
	uint32_t fn = (gas_address >> 16) & 0x7;
	uint32_t off = gas_address & 0xff;

	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	outb(PCI_CONFIG_DATA + (off & 3), v);
}

void acpi_reboot(void)
{
	const struct acpi_gas *r = &acpi.reset_reg;
	volatile uint8_t *mmio;

	if (!acpi.reset_supported)
		return;
	switch (r->space) {
	case ACPI_GAS_IO:
		outb((uint16_t)r->address, acpi.reset_value);
		break;
	case ACPI_GAS_MEMORY:
		mmio = ioremap(r->address, 1);
		if (mmio)
			*mmio = acpi.reset_value;
		break;
	case ACPI_GAS_PCI_CONFIG:
		pci_bus0_write8(r->address, acpi.reset_value);
		break;
	}
	mdelay(RESET_SETTLE_MS);
}

static void reboot_cf9(void)
{
	outb(RESET_CONTROL_PORT, RCR_SYS_RST);
	udelay(50);
	outb(RESET_CONTROL_PORT, RCR_SYS_RST | RCR_RST_CPU);
	mdelay(RESET_SETTLE_MS);
}

static void reboot_kbc(void)
{
	for (int i = 0; i < KBC_WAIT_US && (inb(KBC_STATUS_PORT) & KBC_STATUS_INPUT_FULL); i++)
		udelay(1);
	outb(KBC_STATUS_PORT, KBC_CMD_PULSE_RESET);
	mdelay(RESET_SETTLE_MS);
}

/* An empty IDT makes int3 a triple fault, which resets the CPU. */
static __noreturn void reboot_triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __packed empty_idt = { 0, 0 };

	__asm__ __volatile__("lidt %0; int3" ::"m"(empty_idt) : "memory");
	arch_halt_forever();
}

void arch_reboot(void)
{
	local_irq_disable();
	if (acpi.reset_supported) {
		printk("reboot: ACPI reset register\n");
		acpi_reboot();
	}
	printk("reboot: reset control port 0xcf9\n");
	reboot_cf9();
	printk("reboot: keyboard controller\n");
	reboot_kbc();
	printk("reboot: triple fault\n");
	reboot_triple_fault();
}

#endif /* !ACPI_HOST_TEST */
