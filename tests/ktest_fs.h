/* tests/ktest_fs.h - for tests that need the RAM disk's file system. */
#ifndef TESTS_KTEST_FS_H
#define TESTS_KTEST_FS_H

#include "tests/ktest.h"
#include "kernel/fs/fs.h"
#include "drivers/ramdisk.h"

/* No file system: a skip when no disk image was given, a failure when the
 * loader handed over an initrd.img that does not mount (the build's own
 * image is always mountable: a refusal there is a bug, not a reason to skip). */
#define REQUIRE_FS(t)                                                                             \
	do {                                                                                      \
		if (fs_mounted())                                                                 \
			break;                                                                    \
		if (ramdisk_initrd_given()) {                                                     \
			ktest_fail(t, __FILE__, __LINE__,                                         \
				   "initrd.img was given but does not mount (see the boot log)"); \
			return;                                                                   \
		}                                                                                 \
		KTEST_SKIP(t, "no file system on the RAM disk (no initrd.img)");                  \
	} while (0)

#endif
