/*
 * tests/host/radix_tree_test.c - host test of kernel/radix_tree.c, the tree
 * the page cache keeps its pages in, against a model (a sorted array of
 * index/item pairs).
 *
 * Random inserts, deletes, lookups and walks (radix_tree_next over random
 * ranges) with indexes drawn near the places where the tree changes shape:
 * small ones, 64^k - 1 / 64^k (height boundaries), SFS's file-size limits,
 * random 64-bit values and ~0. After every step the tree's count and its
 * node count are checked (never more nodes than items times the height, none
 * at all when empty, every node freed that was allocated); the allocator
 * fails on purpose now and then, and a failed insert must leave the tree as
 * it was. A sparse "file" of 2^30 pages with pages at both ends must take a
 * handful of nodes and be walked in a handful of steps.
 *
 * Built with ASan and UBSan (make host-tests); prints the seed on failure.
 */
#define RADIX_TREE_HOST 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/radix_tree.h"

static int failures, checks;
static uint64_t seed = 0x7ad1c5eedull;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			if (failures < 20)                                                         \
				printf("FAIL %s:%d: %s (seed %#llx)\n", __FILE__, __LINE__, #cond, \
				       (unsigned long long)seed);                                  \
		}                                                                                  \
	} while (0)

/* ---- the node allocator, with failure injection -------------------------- */

static long live_nodes, fail_every, alloc_calls;

struct radix_tree_node *radix_tree_node_alloc(void)
{
	alloc_calls++;
	if (fail_every && alloc_calls % fail_every == 0)
		return NULL;
	struct radix_tree_node *n = calloc(1, sizeof(*n));
	if (n)
		live_nodes++;
	return n;
}

void radix_tree_node_free(struct radix_tree_node *n)
{
	live_nodes--;
	/* Freed nodes must be empty: the tree frees only what it emptied. */
	for (unsigned i = 0; i < RADIX_TREE_SLOTS; i++)
		CHECK(n->slots[i] == NULL);
	free(n);
}

/* ---- the model ---------------------------------------------------------- */

#define MODEL_MAX 4096

static struct {
	uint64_t index[MODEL_MAX];
	uintptr_t item[MODEL_MAX];
	unsigned n;
} model;

static unsigned model_find(uint64_t index, bool *found)
{
	unsigned lo = 0, hi = model.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (model.index[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < model.n && model.index[lo] == index;
	return lo;
}

static uint64_t rng = 1;

static uint64_t rnd64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An index near where the tree changes shape. */
static uint64_t some_index(void)
{
	static const uint64_t sfs_limits[] = { 12, 1036, 1049612, 1074791436 };
	unsigned k;

	switch (rnd64() % 8) {
	case 0:
		return rnd64() % 200;
	case 1:
		k = 1 + (unsigned)(rnd64() % 10);
		return (1ull << (6 * k)) - 2 + rnd64() % 4;
	case 2:
		return sfs_limits[rnd64() % 4] - 1 + rnd64() % 2;
	case 3:
		return ~0ull - rnd64() % 3;
	case 4:
		return rnd64();
	case 5:
		return rnd64() >> (rnd64() % 64);
	default: /* an index already in the model, or next to one */
		if (!model.n)
			return rnd64() % 100;
		return model.index[rnd64() % model.n] + rnd64() % 3 - 1;
	}
}

static unsigned height_of(const struct radix_tree_root *r)
{
	return r->height;
}

static void check_invariants(const struct radix_tree_root *r)
{
	CHECK(r->count == model.n);
	CHECK((long)r->nodes == live_nodes);
	if (model.n == 0) {
		CHECK(r->node == NULL);
		CHECK(r->height == 0);
		CHECK(r->nodes == 0);
	}
	CHECK(r->nodes <= model.n * (uint64_t)height_of(r));
}

/* The walk from start to end visits exactly the model's items in range. */
static void check_walk(const struct radix_tree_root *r, uint64_t start, uint64_t end)
{
	bool found;
	unsigned i = model_find(start, &found);
	uint64_t idx;
	void *item;
	unsigned seen = 0;

	radix_tree_for_each(r, item, idx, start, end)
	{
		CHECK(i < model.n && model.index[i] < end);
		if (i >= model.n)
			return;
		CHECK(idx == model.index[i]);
		CHECK((uintptr_t)item == model.item[i]);
		i++;
		seen++;
		if (seen > MODEL_MAX)
			return;
	}
	CHECK(i == model.n || model.index[i] >= end);
}

static void random_ops(unsigned steps)
{
	struct radix_tree_root r;
	unsigned inserted = 0, deleted = 0, nomem = 0;

	radix_tree_init(&r);
	model.n = 0;
	for (unsigned step = 0; step < steps; step++) {
		uint64_t index = some_index();
		bool found;
		unsigned pos = model_find(index, &found);
		unsigned op = (unsigned)(rnd64() % 10);

		fail_every = rnd64() % 4 == 0 ? 2 + rnd64() % 5 : 0;
		if (op < 5 && model.n < MODEL_MAX) {
			uintptr_t item = (uintptr_t)(rnd64() | 1);
			uint64_t nodes_before = r.nodes;
			unsigned height_before = r.height;
			int ret = radix_tree_insert(&r, index, (void *)item);
			if (found) {
				CHECK(ret == -EEXIST);
			} else if (ret == -ENOMEM) {
				nomem++;
				CHECK(r.nodes == nodes_before);
				CHECK(r.height == height_before);
			} else {
				CHECK(ret == 0);
				memmove(&model.index[pos + 1], &model.index[pos],
					(model.n - pos) * sizeof(model.index[0]));
				memmove(&model.item[pos + 1], &model.item[pos],
					(model.n - pos) * sizeof(model.item[0]));
				model.index[pos] = index;
				model.item[pos] = item;
				model.n++;
				inserted++;
			}
		} else if (op < 8) {
			void *got = radix_tree_delete(&r, index);
			CHECK((uintptr_t)got == (found ? model.item[pos] : 0));
			if (found) {
				memmove(&model.index[pos], &model.index[pos + 1],
					(model.n - pos - 1) * sizeof(model.index[0]));
				memmove(&model.item[pos], &model.item[pos + 1],
					(model.n - pos - 1) * sizeof(model.item[0]));
				model.n--;
				deleted++;
			}
		} else if (op < 9) {
			CHECK((uintptr_t)radix_tree_lookup(&r, index) ==
			      (found ? model.item[pos] : 0));
		} else {
			uint64_t end = rnd64() % 2 ? ~0ull : index + rnd64() % (1ull << 40);
			if (end < index)
				end = ~0ull;
			check_walk(&r, index, end);
		}
		fail_every = 0;
		check_invariants(&r);
		if (failures)
			break;
	}
	/* Everything looked up, walked, then deleted in random order. */
	for (unsigned i = 0; i < model.n; i++)
		CHECK((uintptr_t)radix_tree_lookup(&r, model.index[i]) == model.item[i]);
	check_walk(&r, 0, ~0ull);
	while (model.n) {
		unsigned pos = (unsigned)(rnd64() % model.n);
		CHECK((uintptr_t)radix_tree_delete(&r, model.index[pos]) == model.item[pos]);
		memmove(&model.index[pos], &model.index[pos + 1],
			(model.n - pos - 1) * sizeof(model.index[0]));
		memmove(&model.item[pos], &model.item[pos + 1],
			(model.n - pos - 1) * sizeof(model.item[0]));
		model.n--;
		check_invariants(&r);
	}
	CHECK(live_nodes == 0);
	printf("radix_tree_test: %u steps: %u inserts (%u failed for memory), %u deletes\n", steps,
	       inserted, nomem, deleted);
}

/* A file of 2^30 pages, cached at both ends: a few nodes, a few steps. */
static void sparse_file(void)
{
	struct radix_tree_root r;
	uint64_t last = (1ull << 30) - 1, idx;
	void *item;
	unsigned n = 0;

	radix_tree_init(&r);
	CHECK(radix_tree_insert(&r, 0, (void *)0x1000) == 0);
	CHECK(r.height == 1 && r.nodes == 1);
	CHECK(radix_tree_insert(&r, last, (void *)0x2000) == 0);
	CHECK(r.height == 5);
	CHECK(r.nodes == 9); /* the root, and 4 nodes down to each end */
	CHECK(radix_tree_insert(&r, last, (void *)0x3000) == -EEXIST);
	CHECK(radix_tree_insert(&r, 5, NULL) == -EINVAL);
	radix_tree_for_each(&r, item, idx, 0, ~0ull) n++;
	CHECK(n == 2);
	idx = 1;
	CHECK(radix_tree_next(&r, &idx, last) == NULL);
	idx = 1;
	CHECK(radix_tree_next(&r, &idx, last + 1) == (void *)0x2000 && idx == last);
	CHECK(radix_tree_lookup(&r, last + 1) == NULL);
	CHECK(radix_tree_lookup(&r, ~0ull) == NULL);
	CHECK(radix_tree_delete(&r, ~0ull) == NULL);
	CHECK(radix_tree_delete(&r, last) == (void *)0x2000);
	CHECK(r.height == 1 && r.nodes == 1); /* shrank back */
	CHECK(radix_tree_delete(&r, 0) == (void *)0x1000);
	CHECK(r.height == 0 && r.nodes == 0 && r.node == NULL);
	/* The largest index: a tree of height 11. */
	CHECK(radix_tree_insert(&r, ~0ull, (void *)0x4000) == 0);
	CHECK(r.height == RADIX_TREE_MAX_HEIGHT);
	idx = 0;
	CHECK(radix_tree_next(&r, &idx, ~0ull) == NULL); /* end is exclusive */
	CHECK(radix_tree_lookup(&r, ~0ull) == (void *)0x4000);
	CHECK(radix_tree_delete(&r, ~0ull) == (void *)0x4000);
	CHECK(live_nodes == 0);
	/* Deleting in the body of a walk. */
	for (uint64_t i = 0; i < 300; i += 3)
		CHECK(radix_tree_insert(&r, i << 20, (void *)(uintptr_t)(i + 1)) == 0);
	n = 0;
	radix_tree_for_each(&r, item, idx, 0, ~0ull)
	{
		CHECK(radix_tree_delete(&r, idx) == item);
		n++;
	}
	CHECK(n == 100 && r.count == 0 && live_nodes == 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	rng = seed | 1;
	sparse_file();
	for (int round = 0; round < 20 && !failures; round++)
		random_ops(5000);
	printf("radix_tree_test: %d checks, %d failed (seed %#llx)\n", checks, failures,
	       (unsigned long long)seed);
	return failures ? 1 : 0;
}
