/*
 * kernel/ksyms.c - symbol lookup over the table that tools/gensyms.sh
 * generates in the second link pass (absent, hence NULL, in the first).
 */
#include "kernel/ksyms.h"
#include "kernel/printk.h"

struct ksym_entry {
	uint64_t addr, name_off;
};
struct ksym_table {
	uint64_t count;
	struct ksym_entry e[];
};
extern const struct ksym_table ksyms_table __attribute__((weak));
extern char __text_start[], __text_end[];

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	const struct ksym_table *t = &ksyms_table;
	if (!t || !t->count || addr < (uint64_t)__text_start || addr >= (uint64_t)__text_end)
		return NULL;
	uint64_t lo = 0, hi = t->count; /* find the last entry with e.addr <= addr */
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (t->e[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (t->e[lo].addr > addr)
		return NULL;
	*offset = addr - t->e[lo].addr;
	return (const char *)t + t->e[lo].name_off;
}

void print_symbol(uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);
	if (name)
		printk("%s+%#lx", name, off);
	else
		printk("?");
}
