/*
 * kernel/radix_tree.c - a radix tree of pointers indexed by 64-bit integers
 * (see kernel/radix_tree.h).
 *
 * A tree of height h is h levels of 64-slot nodes; level h-1 is the root,
 * level 0 holds the items. Index bits 6l .. 6l+5 choose the slot at level
 * l. Growth adds roots above the old one (each new root's slot 0 points at
 * the old root), so nothing below moves; deletion frees every node it
 * empties, bottom up, then drops roots whose only entry is slot 0. So the
 * tree never holds an empty node, and its size follows its items.
 *
 * Compiled into the kernel, and on the host by tests/host/radix_tree_test.c
 * (with RADIX_TREE_HOST: the test provides the node allocator).
 */
#include "kernel/radix_tree.h"
#include "kernel/errno.h"
#ifndef RADIX_TREE_HOST
#include "mm/kmalloc.h"
#endif

_Static_assert(sizeof(struct radix_tree_node) == 512, "a node is a 512-byte kmalloc object");

#ifndef RADIX_TREE_HOST
struct radix_tree_node *radix_tree_node_alloc(void)
{
	return kzalloc(sizeof(struct radix_tree_node));
}

void radix_tree_node_free(struct radix_tree_node *node)
{
	kfree(node);
}
#endif

/* The largest index a tree of this height holds. */
static uint64_t max_index(unsigned height)
{
	if (height * RADIX_TREE_SHIFT >= 64)
		return ~0ull;
	return (1ull << (height * RADIX_TREE_SHIFT)) - 1;
}

/* The height a tree needs to hold index. */
static unsigned height_for(uint64_t index)
{
	unsigned h = 1;

	while (index > max_index(h))
		h++;
	return h;
}

static unsigned slot_of(uint64_t index, unsigned level)
{
	return (unsigned)(index >> (level * RADIX_TREE_SHIFT)) & (RADIX_TREE_SLOTS - 1);
}

static bool node_empty(const struct radix_tree_node *n)
{
	for (unsigned i = 0; i < RADIX_TREE_SLOTS; i++)
		if (n->slots[i])
			return false;
	return true;
}

/* Only slot 0 is in use. */
static bool only_slot0(const struct radix_tree_node *n)
{
	for (unsigned i = 1; i < RADIX_TREE_SLOTS; i++)
		if (n->slots[i])
			return false;
	return n->slots[0] != NULL;
}

static struct radix_tree_node *node_new(struct radix_tree_root *root)
{
	struct radix_tree_node *n = radix_tree_node_alloc();

	if (n)
		root->nodes++;
	return n;
}

static void node_free(struct radix_tree_root *root, struct radix_tree_node *n)
{
	root->nodes--;
	radix_tree_node_free(n);
}

/* Drops roots that only lead to slot 0, and an empty root. */
static void shrink(struct radix_tree_root *root)
{
	while (root->height > 1 && only_slot0(root->node)) {
		struct radix_tree_node *old = root->node;
		root->node = old->slots[0];
		old->slots[0] = NULL;
		root->height--;
		node_free(root, old);
	}
	if (root->height && node_empty(root->node)) {
		node_free(root, root->node);
		root->node = NULL;
		root->height = 0;
	}
}

/* path[l] = the node at level l on the way to index (NULL below a hole). */
static void walk(const struct radix_tree_root *root, uint64_t index,
		 struct radix_tree_node *path[RADIX_TREE_MAX_HEIGHT])
{
	struct radix_tree_node *n = root->node;

	for (unsigned l = root->height; l-- > 0;) {
		path[l] = n;
		n = n ? n->slots[slot_of(index, l)] : NULL;
	}
}

/* Frees the empty nodes on the way to index, bottom up, then shrinks. */
static void prune(struct radix_tree_root *root, uint64_t index)
{
	struct radix_tree_node *path[RADIX_TREE_MAX_HEIGHT];

	walk(root, index, path);
	for (unsigned l = 0; l + 1 < root->height; l++) {
		if (!path[l]) /* below a hole (a failed insert stopped higher) */
			continue;
		if (!node_empty(path[l]))
			break;
		path[l + 1]->slots[slot_of(index, l + 1)] = NULL;
		node_free(root, path[l]);
	}
	shrink(root);
}

void *radix_tree_lookup(const struct radix_tree_root *root, uint64_t index)
{
	struct radix_tree_node *n = root->node;

	if (!n || index > max_index(root->height))
		return NULL;
	for (unsigned l = root->height - 1; l > 0; l--) {
		n = n->slots[slot_of(index, l)];
		if (!n)
			return NULL;
	}
	return n->slots[slot_of(index, 0)];
}

int radix_tree_insert(struct radix_tree_root *root, uint64_t index, void *item)
{
	unsigned need = height_for(index);
	struct radix_tree_node *n;

	if (!item)
		return -EINVAL;
	if (!root->node) { /* empty: a root of the height index needs */
		root->node = node_new(root);
		if (!root->node)
			return -ENOMEM;
		root->height = need;
	}
	while (root->height < need) { /* a new root above the old one */
		n = node_new(root);
		if (!n) {
			shrink(root);
			return -ENOMEM;
		}
		n->slots[0] = root->node;
		root->node = n;
		root->height++;
	}
	n = root->node;
	for (unsigned l = root->height - 1; l > 0; l--) {
		void **slot = &n->slots[slot_of(index, l)];
		if (!*slot) {
			*slot = node_new(root);
			if (!*slot) {
				prune(root, index);
				return -ENOMEM;
			}
		}
		n = *slot;
	}
	if (n->slots[slot_of(index, 0)])
		return -EEXIST; /* so nothing was added on the way */
	n->slots[slot_of(index, 0)] = item;
	root->count++;
	return 0;
}

void *radix_tree_delete(struct radix_tree_root *root, uint64_t index)
{
	struct radix_tree_node *path[RADIX_TREE_MAX_HEIGHT];
	void *item;

	if (!root->node || index > max_index(root->height))
		return NULL;
	walk(root, index, path);
	if (!path[0] || !(item = path[0]->slots[slot_of(index, 0)]))
		return NULL;
	path[0]->slots[slot_of(index, 0)] = NULL;
	root->count--;
	prune(root, index);
	return item;
}

void *radix_tree_next(const struct radix_tree_root *root, uint64_t *pindex, uint64_t end)
{
	uint64_t index = *pindex, max = max_index(root->height);

	if (!root->node)
		return NULL;
	if (max != ~0ull && end > max + 1)
		end = max + 1;
restart:
	if (index >= end)
		return NULL;
	{
		struct radix_tree_node *n = root->node;
		for (unsigned l = root->height; l-- > 0;) {
			unsigned s = slot_of(index, l);
			unsigned shift = l * RADIX_TREE_SHIFT;

			while (s < RADIX_TREE_SLOTS && !n->slots[s])
				s++;
			if (s == RADIX_TREE_SLOTS) {
				/* Nothing more in this node: the first index of
				 * the next node at this level, from the root. */
				unsigned up = shift + RADIX_TREE_SHIFT;
				if (up >= 64 || (index >> up) == (~0ull >> up))
					return NULL;
				index = ((index >> up) + 1) << up;
				goto restart;
			}
			if (s != slot_of(index, l)) /* skipped ahead: lower bits from 0 */
				index = (((index >> shift) & ~(uint64_t)(RADIX_TREE_SLOTS - 1)) | s)
					<< shift;
			if (index >= end)
				return NULL;
			if (l == 0) {
				*pindex = index;
				return n->slots[s];
			}
			n = n->slots[s];
		}
	}
	return NULL;
}
