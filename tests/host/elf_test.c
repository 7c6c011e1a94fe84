/*
 * tests/host/elf_test.c - kernel/elf.c (the checks execve makes on ELF
 * headers) on the host, under ASan and UBSan:
 *   - each program given on the command line (the build's tests/user
 *     binaries) is accepted, with the plan Linux would make (bias, span,
 *     entry, AT_PHDR, the interpreter of the dynamic one);
 *   - 300000 random mutations of their headers (random fields set to
 *     random, boundary or nearby values): whatever elf_plan accepts obeys
 *     the invariants the kernel relies on: every PT_LOAD within the file,
 *     congruent, in ascending order without overlap, every biased address
 *     within [ELF_MIN_ADDR, user_top) and inside [plan.lo, plan.hi), the
 *     entry below user_top; whatever it refuses it refuses with -ENOEXEC
 *     and a reason. Prints the seed; `elf_test SEED FILES...` replays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/elf.h"

#define USER_TOP (0x0000800000000000ull - 4096)

static int failures;
#define CHECK(c, ...)                                                                          \
	do {                                                                                   \
		if (!(c)) {                                                                    \
			fprintf(stderr, "elf_test: FAIL %s:%d: %s: ", __FILE__, __LINE__, #c); \
			fprintf(stderr, __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                   \
			failures++;                                                            \
		}                                                                              \
	} while (0)

static uint8_t *load(const char *path, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*size = (uint64_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*size);
	if (fread(b, 1, *size, f) != *size) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* elf_check_ehdr + elf_plan over an image in memory, as the kernel does
 * (it reads the program headers only if the ELF header passes). */
static int plan_image(const uint8_t *img, uint64_t size, struct elf_plan *plan)
{
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(&eh, img, size < sizeof(eh) ? size : sizeof(eh));
	plan->why = NULL;
	int err = elf_check_ehdr(&eh, size, plan);
	if (err)
		return err;
	/* as the kernel: the program headers in a buffer of their own */
	Elf64_Phdr *ph = malloc((size_t)eh.e_phnum * sizeof(*ph));
	memcpy(ph, img + eh.e_phoff, (size_t)eh.e_phnum * sizeof(*ph));
	err = elf_plan(&eh, ph, size, USER_TOP, plan);
	free(ph);
	return err;
}

static void check_invariants(const uint8_t *img, uint64_t size, const struct elf_plan *plan,
			     const char *what)
{
	Elf64_Ehdr ehc;
	memcpy(&ehc, img, sizeof(ehc));
	const Elf64_Ehdr *eh = &ehc;
	Elf64_Phdr *ph = malloc((size_t)eh->e_phnum * sizeof(*ph));
	memcpy(ph, img + eh->e_phoff, (size_t)eh->e_phnum * sizeof(*ph));
	uint64_t prev_end = 0;
	int loads = 0;
	CHECK(plan->hi <= USER_TOP && plan->lo < plan->hi && plan->lo >= ELF_MIN_ADDR, "%s", what);
	CHECK(plan->entry < USER_TOP, "%s", what);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		loads++;
		CHECK(p->p_offset <= size && p->p_filesz <= size - p->p_offset, "%s seg %d", what,
		      i);
		CHECK(((p->p_offset ^ p->p_vaddr) & 4095) == 0, "%s seg %d", what, i);
		CHECK(p->p_filesz <= p->p_memsz, "%s seg %d", what, i);
		uint64_t v = p->p_vaddr + plan->bias;
		CHECK(v >= plan->lo && v + p->p_memsz <= plan->hi && v + p->p_memsz > v,
		      "%s seg %d", what, i);
		CHECK(loads == 1 || v >= prev_end, "%s seg %d", what, i);
		prev_end = v + p->p_memsz;
	}
	CHECK(loads == plan->nr_load && loads > 0, "%s", what);
	if (plan->interp >= 0) {
		const Elf64_Phdr *p = &ph[plan->interp];
		CHECK(p->p_filesz >= 2 && p->p_filesz <= ELF_MAX_INTERP && p->p_offset <= size &&
			  p->p_filesz <= size - p->p_offset,
		      "%s interp", what);
	}
	free(ph);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t interesting(uint64_t old)
{
	static const uint64_t vals[] = { 0,
					 1,
					 2,
					 56,
					 4095,
					 4096,
					 0x10000,
					 0x400000,
					 0x7ffffffff000ull,
					 0x800000000000ull,
					 0xffff800000000000ull,
					 0xffffffff80000000ull,
					 ~0ull,
					 ~0ull - 4095,
					 1ull << 63,
					 0x555555554000ull };
	switch (rnd() % 4) {
	case 0:
		return vals[rnd() % (sizeof(vals) / sizeof(vals[0]))];
	case 1:
		return old + (rnd() % 8192) - 4096;
	case 2:
		return old ^ (1ull << (rnd() % 64));
	default:
		return rnd();
	}
}

#define HEAD 8192

static void mutate(uint8_t *img, uint64_t size)
{
	Elf64_Ehdr *eh = (void *)img;
	int n = 1 + rnd() % 3;
	for (int k = 0; k < n; k++) {
		uint64_t phoff = eh->e_phoff;
		int nph = eh->e_phnum;
		/* header mutations only within the first HEAD bytes (restored each time) */
		bool ph_ok = phoff <= HEAD && (uint64_t)nph * 56 <= HEAD - phoff &&
			     phoff % 8 == 0 && nph > 0 && phoff + (uint64_t)nph * 56 <= size;
		if (!ph_ok || rnd() % 4 == 0) {
			switch (rnd() % 6) {
			case 0:
				eh->e_phnum = (uint16_t)interesting(eh->e_phnum);
				break;
			case 1:
				eh->e_phoff = interesting(eh->e_phoff);
				break;
			case 2:
				eh->e_entry = interesting(eh->e_entry);
				break;
			case 3:
				eh->e_type = (uint16_t)(rnd() % 2 ? ET_DYN : ET_EXEC);
				break;
			case 4:
				eh->e_phentsize = (uint16_t)interesting(56);
				break;
			default:
				img[rnd() % 16] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			}
			continue;
		}
		Elf64_Phdr *p = (Elf64_Phdr *)(img + phoff) + rnd() % nph;
		switch (rnd() % 7) {
		case 0:
			p->p_type = rnd() % 3 ? PT_LOAD : (rnd() % 2 ? PT_INTERP : PT_GNU_STACK);
			break;
		case 1:
			p->p_offset = interesting(p->p_offset);
			break;
		case 2:
			p->p_vaddr = interesting(p->p_vaddr);
			break;
		case 3:
			p->p_filesz = interesting(p->p_filesz);
			break;
		case 4:
			p->p_memsz = interesting(p->p_memsz);
			break;
		case 5:
			p->p_flags = (uint32_t)rnd();
			break;
		default: { /* keep congruence, move the segment */
			uint64_t d = interesting(0) & ~4095ull;
			p->p_vaddr += d;
			break;
		}
		}
	}
}

int main(int argc, char **argv)
{
	int first = 1;
	uint64_t seed = 0;
	if (argc > 1 && strspn(argv[1], "0123456789") == strlen(argv[1])) {
		seed = strtoull(argv[1], NULL, 10);
		first = 2;
	} else {
		FILE *u = fopen("/dev/urandom", "rb");
		if (!u || fread(&seed, sizeof(seed), 1, u) != 1)
			seed = 42;
		if (u)
			fclose(u);
	}
	if (first >= argc) {
		fprintf(stderr, "usage: elf_test [SEED] ELF-FILES...\n");
		return 2;
	}
	int accepted = 0, refused = 0;
	for (int a = first; a < argc; a++) {
		uint64_t size;
		uint8_t *orig = load(argv[a], &size);
		if (!orig) {
			fprintf(stderr, "elf_test: cannot read %s\n", argv[a]);
			return 2;
		}
		struct elf_plan plan;
		int err = plan_image(orig, size, &plan);
		bool dynamic = strstr(argv[a], "dynamic") != NULL;
		bool pie = strstr(argv[a], "-pie") != NULL || dynamic;
		CHECK(err == 0, "%s refused: %s", argv[a], plan.why);
		if (err)
			continue;
		check_invariants(orig, size, &plan, argv[a]);
		CHECK((plan.interp >= 0) == dynamic, "%s: interp %d", argv[a], plan.interp);
		CHECK(plan.bias == (pie ? ELF_ET_DYN_BASE - 0 : 0), "%s: bias %#llx", argv[a],
		      (unsigned long long)plan.bias);
		CHECK(plan.phdr != 0 && !plan.exec_stack, "%s", argv[a]);
		/* mutations */
		uint8_t *img = malloc(size);
		memcpy(img, orig, size);
		rng_state = seed ^ (uint64_t)a;
		for (int i = 0; i < 300000 / (argc - first); i++) {
			memcpy(img, orig, size < HEAD ? size : HEAD);
			mutate(img, size);
			struct elf_plan p2;
			err = plan_image(img, size, &p2);
			if (err) {
				CHECK(err == -8 && p2.why, "%s mutation %d: err %d", argv[a], i,
				      err);
				refused++;
			} else {
				char what[64];
				snprintf(what, sizeof(what), "%s mutation %d", argv[a], i);
				check_invariants(img, size, &p2, what);
				accepted++;
			}
			if (failures > 10)
				break;
		}
		free(img);
		free(orig);
	}
	printf("elf_test: seed %llu: %d mutated headers accepted, %d refused, %d failures\n",
	       (unsigned long long)seed, accepted, refused, failures);
	return failures ? 1 : 0;
}
