/*
 * arch/x86_64/acpi.h - what the kernel learns from the ACPI static tables.
 *
 * acpi_init() parses RSDP -> XSDT/RSDT -> MADT, FADT, HPET once on the BSP
 * and fills the global `acpi`. It is read-only afterwards, so readers take no
 * lock. See acpi.c for the table layouts relied on and the validation rules.
 */
#ifndef ARCH_X86_64_ACPI_H
#define ARCH_X86_64_ACPI_H

#include "kernel/compiler.h"

/*
 * CPU table size: the kernel's NR_CPUS when kernel/percpu.h provides it,
 * else 64. The host test (ACPI_HOST_TEST) always uses 64, so the test and the
 * parser it links agree on the layout of struct acpi_info.
 */
#if !defined(ACPI_HOST_TEST) && defined(__has_include)
#if __has_include("kernel/percpu.h")
#include "kernel/percpu.h"
#endif
#endif
#ifdef NR_CPUS
#define ACPI_MAX_CPUS NR_CPUS
#else
#define ACPI_MAX_CPUS 64
#endif
#define ACPI_MAX_SKIPPED    64 /* skipped CPU entries remembered for the log */
#define ACPI_MAX_IOAPICS    16
#define ACPI_MAX_ISOS	    32 /* interrupt source overrides */
#define ACPI_MAX_LAPIC_NMIS 16

/* struct acpi_cpu.flags: the MADT flags word, as found. */
#define ACPI_CPU_ENABLED	(1u << 0) /* usable now */
#define ACPI_CPU_ONLINE_CAPABLE (1u << 1) /* not enabled, may be onlined later (ACPI 6.3+) */

/* Why a CPU entry was not put into acpi.cpus[]. */
enum acpi_cpu_skip {
	ACPI_SKIP_DISABLED = 1, /* neither enabled nor online-capable */
	ACPI_SKIP_OC_UNDEFINED, /* online-capable bit set, but ACPI < 6.3: reserved bit */
	ACPI_SKIP_DUPLICATE,	/* an earlier entry has the same APIC id */
	ACPI_SKIP_TABLE_FULL,	/* more than ACPI_MAX_CPUS usable CPUs */
};

struct acpi_cpu {
	uint32_t apic_id;  /* local APIC id (8-bit for type 0, 32-bit x2APIC id for type 9) */
	uint32_t uid;	   /* ACPI processor UID */
	uint32_t flags;	   /* ACPI_CPU_* as in the MADT */
	bool x2apic_entry; /* came from a type 9 (x2APIC) entry */
	uint8_t skip;	   /* enum acpi_cpu_skip, only in acpi.skipped[] */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t phys;	   /* MMIO base */
	uint32_t gsi_base; /* first global system interrupt it serves */
};

/* MADT type 2: ISA IRQ `source` arrives at global system interrupt `gsi`. */
struct acpi_iso {
	uint8_t bus;	/* 0 = ISA */
	uint8_t source; /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
};

/* MADT types 4 / 10: which LINT pin of which CPU carries NMI. */
#define ACPI_UID_ALL_CPUS_8  0xffu	 /* type 4: every processor */
#define ACPI_UID_ALL_CPUS_32 0xffffffffu /* type 10: every processor */
struct acpi_lapic_nmi {
	uint32_t uid;	/* ACPI processor UID, or ACPI_UID_ALL_CPUS_32 */
	uint16_t flags; /* MPS INTI flags */
	uint8_t lint;	/* 0 or 1 */
};

/* MPS INTI flags (ISO and NMI entries). */
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_ACTIVE_HIGH	0x1
#define ACPI_INTI_ACTIVE_LOW	0x3
#define ACPI_INTI_TRIGGER_MASK	0xc
#define ACPI_INTI_EDGE		0x4
#define ACPI_INTI_LEVEL		0xc

/* Generic Address Structure, decoded. */
#define ACPI_GAS_MEMORY	    0
#define ACPI_GAS_IO	    1
#define ACPI_GAS_PCI_CONFIG 2
struct acpi_gas {
	uint8_t space; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
};

struct acpi_info {
	bool present;	       /* RSDP and root table were valid */
	uint8_t rsdp_revision; /* 0 = ACPI 1.0, 2 = ACPI 2.0+ */
	bool use_xsdt;
	char oem_id[7];

	/* MADT */
	bool madt_found;
	bool madt_truncated;		     /* a malformed entry stopped the walk */
	uint64_t lapic_phys;		     /* type 5 override if present, else the header field */
	bool pcat_compat;		     /* dual 8259 PICs present (MADT flags bit 0) */
	uint32_t nr_cpus;		     /* entries in cpus[]: enabled or online-capable */
	struct acpi_cpu cpus[ACPI_MAX_CPUS]; /* MADT order */
	uint32_t nr_disabled;		     /* CPUs skipped as disabled (incl. OC_UNDEFINED) */
	uint32_t nr_skipped;		     /* every skipped CPU entry, for any reason */
	struct acpi_cpu skipped[ACPI_MAX_SKIPPED]; /* the first ACPI_MAX_SKIPPED of them */
	uint32_t nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t nr_isos;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	uint32_t nr_lapic_nmis;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];

	/* FADT */
	bool fadt_found;
	uint8_t fadt_revision, fadt_minor;
	bool hw_reduced;	/* HW_REDUCED_ACPI: no PM timer, no fixed hardware */
	uint16_t pm_timer_port; /* 0 if none */
	bool pm_timer_32bit;	/* TMR_VAL_EXT: 32-bit counter, else 24-bit */
	bool reset_supported;	/* RESET_REG_SUP and a usable register */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t iapc_boot_arch; /* bit 1: 8042 keyboard controller present */

	/* HPET */
	uint64_t hpet_phys; /* 0 if none */
	uint8_t hpet_number;
	uint16_t hpet_min_tick;
};

extern struct acpi_info acpi;

/*
 * Parse the tables reached from the RSDP at physical address rsdp_phys
 * (boot_info.rsdp). Returns 0 if a MADT was parsed (possibly partially, see
 * acpi.madt_truncated), -ENOENT (-2) if there is no RSDP or no MADT or no
 * usable CPU in it, -EINVAL (-22) if the RSDP or root table is corrupt. FADT
 * and HPET results are kept whatever the return value. Call once, on the BSP,
 * before anything reads `acpi`; calling again re-parses from scratch.
 */
int acpi_init(uint64_t rsdp_phys);

/* Index of apic_id in acpi.cpus[], or -1. */
int acpi_cpu_index(uint32_t apic_id);

/*
 * Write the FADT reset register if the firmware offers one; returns only if
 * the machine did not reset (then arch_reboot() tries the legacy ways).
 */
void acpi_reboot(void);

#ifdef ACPI_HOST_TEST
/* The host test provides this: a pointer to len readable bytes at "physical"
 * address phys, or NULL if that range is not backed. */
const void *acpi_host_map(uint64_t phys, size_t len);
#endif

#endif
