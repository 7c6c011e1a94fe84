# tests/fs.mk - the SFS file system's host side, included at the end of
# tests/host.mk (which defines BUILD, CC, HOST_CFLAGS, HOST_TESTS, PYTHON).
#
#   $(BUILD)/host/mkfs_sfs    make an image:  mkfs_sfs IMAGE SIZE [--inodes N]
#                             [--max-size SIZE] [--sparse] [--sparse-image]
#                             [--mkdir /dir ...] [HOSTPATH:/name ...]
#   $(BUILD)/host/fsck_sfs    check an image: fsck_sfs [--list] IMAGE
#   $(BUILD)/initrd.img       the RAM disk the kernel's tests read (part of all)
#   $(BUILD)/host/sfs_test    host unit test of the checker (in host-tests);
#                             also replays tests/host/sfs_corpus/
#   make fuzz                 libFuzzer on sfs_check for FUZZ_SECONDS (60)
#
# The tools are built with HOST_CFLAGS (ASan + UBSan): mkfs then checks its
# own output with the kernel's checker under the sanitizers at every build.

.PHONY: fuzz

SFS_FORMAT := kernel/fs/sfs_format.c kernel/fs/sfs_format.h
SFS_MKFS_LIB := tools/sfs_mkfs_lib.c tools/sfs_mkfs_lib.h
SFS_CORPUS := tests/host/sfs_corpus

# The user programs (tests/user.mk) go into the initrd's /bin.
include tests/user.mk
SFS_HOST_CFLAGS = $(HOST_CFLAGS) -DSFS_HOST

$(BUILD)/host/mkfs_sfs: tools/mkfs_sfs.c $(SFS_MKFS_LIB) $(SFS_FORMAT)
	@mkdir -p $(dir $@)
	$(CC) $(SFS_HOST_CFLAGS) tools/mkfs_sfs.c tools/sfs_mkfs_lib.c kernel/fs/sfs_format.c -o $@

$(BUILD)/host/fsck_sfs: tools/fsck_sfs.c $(SFS_FORMAT)
	@mkdir -p $(dir $@)
	$(CC) $(SFS_HOST_CFLAGS) tools/fsck_sfs.c kernel/fs/sfs_format.c -o $@

$(BUILD)/host/sfs_test: tests/host/sfs_test.c tests/host/fuzz_sfs.c $(SFS_MKFS_LIB) $(SFS_FORMAT)
	@mkdir -p $(dir $@)
	$(CC) $(SFS_HOST_CFLAGS) tests/host/sfs_test.c tests/host/fuzz_sfs.c \
		tools/sfs_mkfs_lib.c kernel/fs/sfs_format.c -o $@

# Checker against clean and corrupted images, then the regression corpus.
HOST_TESTS += $(BUILD)/host/sfs_test $(SFS_CORPUS) ;
# The tools end to end (tests/host/sfs_tools_test.sh): a host tree, files
# past 4 MiB and a sparse 5 GiB one, --max-size, --sparse-image, a version 1
# image and an image of zeros refused.
HOST_TESTS += bash tests/host/sfs_tools_test.sh $(BUILD)/host/mkfs_sfs $(BUILD)/host/fsck_sfs \
	$(BUILD)/host/sfs-tools ;
host-tests: $(BUILD)/host/sfs_test $(BUILD)/host/mkfs_sfs $(BUILD)/host/fsck_sfs

# ---- the RAM disk ----------------------------------------------------------
# 4 MiB (one page-allocator block, so a test can copy it whole), with a
# bitmap for INITRD_MAX_SIZE (the file system may grow in place to that
# much); the kernel's tests expect exactly these files:
#   /hello.txt    "hello from the RAM disk\n"
#   /pattern.bin  65536 bytes, byte i = i & 0xff
#   /docs/        an empty directory
#   /bin/         the user programs of tests/user.mk (the exec suite)
INITRD_DIR := $(BUILD)/initrd.d
INITRD_MAX_SIZE ?= 16G

all: $(BUILD)/initrd.img

$(BUILD)/initrd.img: $(BUILD)/host/mkfs_sfs $(BUILD)/host/fsck_sfs tests/fs.mk $(USER_BINS)
	@mkdir -p $(INITRD_DIR)
	@$(if $(Q),echo "  MKFS    $@")
	$(Q)printf 'hello from the RAM disk\n' > $(INITRD_DIR)/hello.txt
	$(Q)$(PYTHON) -c 'import sys; sys.stdout.buffer.write(bytes(i & 0xff for i in range(65536)))' \
		> $(INITRD_DIR)/pattern.bin
	$(Q)$(BUILD)/host/mkfs_sfs $@.tmp 12288 --max-size $(INITRD_MAX_SIZE) --mkdir /docs \
		$(INITRD_DIR)/hello.txt:/hello.txt $(INITRD_DIR)/pattern.bin:/pattern.bin \
		$(USER_INITRD_FILES) >/dev/null
	$(Q)$(BUILD)/host/fsck_sfs $@.tmp >/dev/null
	$(Q)mv $@.tmp $@

# ---- fuzzing ---------------------------------------------------------------
# libFuzzer needs clang and its runtime (Debian: clang, libclang-rt-14-dev).
# Corpus: seeds made by mkfs (small images, zero tail cut: the target pads
# it back), two patch-mode inputs (see fuzz_sfs.c) and the regression files;
# new inputs collect in $(BUILD)/fuzz/corpus.
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CLANG ?= clang
FUZZ_PACKAGES := clang libclang-rt-14-dev

$(FUZZ_DIR)/fuzz_sfs: tests/host/fuzz_sfs.c $(SFS_FORMAT) $(SFS_MKFS_LIB)
	@mkdir -p $(dir $@)
	@missing=; for p in $(FUZZ_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ]; then \
			echo "fuzz: installing missing packages:$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update && apt-get install -y --no-install-recommends $$missing || exit 1; \
		else \
			echo "fuzz: missing Debian packages:$$missing; install them with:"; \
			echo "    sudo apt-get install$$missing"; \
			exit 1; \
		fi; \
	fi
	$(FUZZ_CLANG) -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -I. -DSFS_HOST \
		-DFUZZ_SFS_MUTATOR \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		tests/host/fuzz_sfs.c tools/sfs_mkfs_lib.c kernel/fs/sfs_format.c -o $@

FUZZ_MKFS = $(abspath $(BUILD))/host/mkfs_sfs
FUZZ_FILES = $(FUZZ_DIR)/seed-files

$(FUZZ_DIR)/seeds.stamp: $(BUILD)/host/mkfs_sfs tests/fs.mk
	@rm -rf $(FUZZ_DIR)/seeds $(FUZZ_FILES) && mkdir -p $(FUZZ_DIR)/seeds $(FUZZ_FILES)/sub
	@printf 'hello\n' > $(FUZZ_FILES)/hello.txt
	@printf 'nested\n' > $(FUZZ_FILES)/sub/nested.txt
	@printf 'head' > $(FUZZ_FILES)/s5g && truncate -s 5368709116 $(FUZZ_FILES)/s5g \
		&& printf 'tail' >> $(FUZZ_FILES)/s5g
	@$(PYTHON) -c 'import sys; sys.stdout.buffer.write(bytes(53248 - 16) + b"end of big.bin\n\n")' \
		> $(FUZZ_FILES)/big.bin
	@set -e; M=$(FUZZ_MKFS); S=$(FUZZ_DIR)/seeds; F=$(FUZZ_FILES); \
	$$M $$S/empty 64 --max-size 0 >/dev/null; \
	$$M $$S/files 128 --max-size 0 --inodes 40 $$F/hello.txt:/hello.txt $$F/sub:/a/b \
		--mkdir /docs >/dev/null; \
	$$M $$S/indirect 512 --max-size 0 --sparse $$F/big.bin:/big.bin $$F/hello.txt:/x/y/z \
		>/dev/null; \
	$$M $$S/small 64 --max-size 0 --inodes 31 $$F/hello.txt:/h $$F/hello.txt:/d/h \
		--mkdir /e >/dev/null; \
	$$M $$S/deep 128 --max-size 0 --inodes 31 $$F/s5g:/s5g $$F/s5g:/d/s5g $$F/hello.txt:/h \
		>/dev/null; \
	$$M $$S/growable 256 --max-size 1G --inodes 31 $$F/s5g:/s5g $$F/hello.txt:/h >/dev/null; \
	printf 'SFSp' > $$S/patch-none; \
	printf 'SFSp\x06\x40\x00\x01\x05' > $$S/patch-entry; \
	for f in $$S/*; do \
		$(PYTHON) -c 'import sys; p = sys.argv[1]; d = open(p, "rb").read().rstrip(b"\0"); \
			open(p, "wb").write(d + b"\0" * (len(d) % 2))' $$f; \
	done
	@touch $@

fuzz: $(FUZZ_DIR)/fuzz_sfs $(FUZZ_DIR)/seeds.stamp
	@mkdir -p $(FUZZ_DIR)/corpus
	@rm -f $(FUZZ_DIR)/crash-* $(FUZZ_DIR)/leak-* $(FUZZ_DIR)/timeout-* $(FUZZ_DIR)/oom-*
	@echo "fuzz: sfs_check under libFuzzer for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/fuzz.log)"
	@$(FUZZ_DIR)/fuzz_sfs -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ \
		$(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds $(SFS_CORPUS) > $(FUZZ_DIR)/fuzz.log 2>&1; rc=$$?; \
	grep -E '^(Done |stat::number_of_executed_units|stat::average_exec_per_sec)' \
		$(FUZZ_DIR)/fuzz.log || true; \
	if [ $$rc -ne 0 ] || ls $(FUZZ_DIR)/crash-* $(FUZZ_DIR)/leak-* $(FUZZ_DIR)/timeout-* \
			$(FUZZ_DIR)/oom-* >/dev/null 2>&1; then \
		tail -n 40 $(FUZZ_DIR)/fuzz.log; \
		echo "fuzz: FAILED: the inputs that break sfs_check are $(FUZZ_DIR)/crash-* (or timeout-*, ...)."; \
		echo "fuzz: fix kernel/fs/sfs_format.c, then copy each of them into $(SFS_CORPUS)/"; \
		echo "fuzz: (make host-tests replays every file there)."; \
		exit 1; \
	fi; \
	echo "fuzz: no crash in $(FUZZ_SECONDS) s"
