# tests/matrix.mk - `make matrix`: the in-kernel suite on the QEMU CPU
# models and machines whose differences the kernel must detect, included by
# tests/host.mk (which defines BUILD, DEPS_GOALS, ...).
#
#   make matrix                every row, one after the other
#   make matrix MATRIX=pc-icelake-5G,q35-max-16cpu   only these rows
#
# Each row is one `make test` with the row's knobs; its serial log is kept
# in $(BUILD)/matrix/<row>.log and the runner's verdict lines in
# $(BUILD)/matrix/<row>.out. The matrix ends with a table (row, machine,
# CPU, what the kernel detected, verdict, counts, seconds) and exits
# non-zero if a row failed. FILTER, CMDLINE and TIMEOUT apply to every row
# (a quick matrix: `make matrix FILTER='pmm.*,paging.*,highmem.*'`); a row's
# QEMU_CPU, SMP, MEM and QEMU_ARGS replace those of the command line.
#
# The rows (name: make arguments):
#   q35-qemu64-nonx  QEMU's baseline x86-64 CPU with NX switched off (as on a
#                    machine whose firmware disables XD): no NX, SMEP, SMAP,
#                    1 GiB pages, PCID or x2APIC; kernel mappings must go
#                    without the NX bit, uaccess without stac/clac.
#   pc-icelake-5G    Intel (Icelake-Server: SMEP, SMAP, 1 GiB pages, LA57 in
#                    CPUID; TCG warns about features it cannot emulate) on
#                    the i440fx `pc` machine with 5 GiB: 3 GiB below 4 GiB,
#                    2 GiB above (top of RAM at 6 GiB).
#   q35-epyc-5G      AMD (EPYC: SMEP, SMAP, 1 GiB pages) on q35 with 5 GiB:
#                    2 GiB below 4 GiB, 3 GiB above (top at 7 GiB).
#   q35-max-16cpu    QEMU's `max` CPU, 16 CPUs on 2 host cores.
# The highmem suite checks, on the 5G rows, that RAM above 4 GiB is managed,
# in the direct map (1 GiB pages where the CPU has them) and handed out.
#
# The machine is chosen with a second -machine in QEMU_ARGS (the runner
# passes `-machine q35` first; QEMU's last -machine wins).

.PHONY: matrix

MATRIX ?=
MATRIX_ROWS := q35-qemu64-nonx pc-icelake-5G q35-epyc-5G q35-max-16cpu
comma := ,
MATRIX_SELECTED = $(if $(MATRIX),$(subst $(comma), ,$(MATRIX)),$(MATRIX_ROWS))
MATRIX_DIR = $(BUILD)/matrix

# Per row: the knobs of its `make test` (shell words; double quotes group).
MATRIX_ARGS_q35-qemu64-nonx := QEMU_CPU=qemu64,-nx SMP=4 MEM=512M QEMU_ARGS="-machine q35"
MATRIX_ARGS_pc-icelake-5G := QEMU_CPU=Icelake-Server SMP=4 MEM=5G QEMU_ARGS="-machine pc"
MATRIX_ARGS_q35-epyc-5G := QEMU_CPU=EPYC SMP=4 MEM=5G QEMU_ARGS="-machine q35"
# 16 vCPUs on 2 host cores: the runner scales its global timeout and the
# kernel's per-case timeout (ktest.timeout) to the vCPUs per host core.
MATRIX_ARGS_q35-max-16cpu := QEMU_CPU=max SMP=16 MEM=512M QEMU_ARGS="-machine q35"

ifneq ($(filter matrix,$(MAKECMDGOALS)),)
ifneq ($(filter-out $(MATRIX_ROWS),$(MATRIX_SELECTED)),)
$(error matrix: unknown row(s) $(filter-out $(MATRIX_ROWS),$(MATRIX_SELECTED)) (rows: $(MATRIX_ROWS)))
endif
endif

# Build and run the host tests once; the rows only boot (HOST_TESTS= empties
# the host-test list of their `make test`).
matrix: all host-tests
	@MAKE='$(MAKE)' bash tools/matrix.sh $(MATRIX_DIR) \
		$(foreach r,$(MATRIX_SELECTED),'$(r)|$(MATRIX_ARGS_$(r))')
