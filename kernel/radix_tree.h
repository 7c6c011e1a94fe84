/*
 * kernel/radix_tree.h - a radix tree of pointers indexed by 64-bit integers
 * (see kernel/radix_tree.c): what the page cache keeps its pages in, so a
 * sparse file of any size costs memory in proportion to its cached pages.
 *
 * Nodes of 64 slots (512 bytes); a tree of height h holds the indexes
 * 0 .. 64^h - 1 and grows (a new root above the old one) when a larger
 * index is inserted; nodes that become empty are freed at once and the
 * tree shrinks back, so an empty tree holds no memory. A page cache of n
 * pages at any indexes below 2^30 uses at most 5n nodes, and far fewer when
 * the pages are near one another.
 *
 * No locking inside: the caller serializes every call on one tree (the page
 * cache uses mapping->lock). Insert allocates (kmalloc, which may be called
 * under a spinlock) and fails cleanly with -ENOMEM, leaving the tree as it
 * was; lookup, next and delete never allocate.
 */
#ifndef KERNEL_RADIX_TREE_H
#define KERNEL_RADIX_TREE_H

#include "kernel/compiler.h"

#define RADIX_TREE_SHIFT      6
#define RADIX_TREE_SLOTS      (1u << RADIX_TREE_SHIFT) /* 64 */
#define RADIX_TREE_MAX_HEIGHT 11		       /* 11 * 6 >= 64 bits */

struct radix_tree_node {
	void *slots[RADIX_TREE_SLOTS]; /* items (height 1) or nodes one level down */
};

struct radix_tree_root {
	struct radix_tree_node *node; /* NULL: empty (height 0) */
	unsigned height;	      /* levels of nodes: indexes < 64^height */
	uint64_t count;		      /* items */
	uint64_t nodes;		      /* nodes allocated */
};

static inline void radix_tree_init(struct radix_tree_root *root)
{
	root->node = NULL;
	root->height = 0;
	root->count = 0;
	root->nodes = 0;
}

/* The item at index, or NULL. */
void *radix_tree_lookup(const struct radix_tree_root *root, uint64_t index);

/* Stores item (not NULL) at index: 0, -EEXIST if one is there already, or
 * -ENOMEM (the tree is unchanged). */
int radix_tree_insert(struct radix_tree_root *root, uint64_t index, void *item);

/* Removes and returns the item at index (NULL if none); frees the nodes
 * that become empty and lowers the height when it can. */
void *radix_tree_delete(struct radix_tree_root *root, uint64_t index);

/*
 * The first item at an index in [*index, end), or NULL if none; *index is
 * set to its index. Visits only the nodes on the way: walking a sparse
 * tree costs about height steps per item, not one per index. To go on,
 * call again with *index + 1 (stop if *index was ~0).
 */
void *radix_tree_next(const struct radix_tree_root *root, uint64_t *index, uint64_t end);

/* For every item in [start, end), in index order: item = its value. The
 * body may delete the item it got (each step starts again from the root). */
#define radix_tree_for_each(root, item, idx, start, end)                                 \
	for ((idx) = (start); ((item) = radix_tree_next((root), &(idx), (end))) != NULL; \
	     (idx) = (idx) == ~0ull ? (end) : (idx) + 1)

/* Provided by the user of the tree: kernel/radix_tree.c's own use kmalloc
 * (the host test brings its own, with failure injection). */
struct radix_tree_node *radix_tree_node_alloc(void); /* zeroed, or NULL */
void radix_tree_node_free(struct radix_tree_node *node);

#endif
