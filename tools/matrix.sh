#!/usr/bin/env bash
# tools/matrix.sh - run `make test` once per matrix row and tally the rows
# (called by `make matrix`, tests/matrix.mk).
#
#   tools/matrix.sh OUTDIR 'name|make arguments' ...
#
# Rows run one after the other (one QEMU at a time). Row `name` runs
#   $MAKE test <make arguments> HOST_TESTS= TEST_LOG=OUTDIR/name.log
# (the arguments are shell words: QEMU_ARGS="-machine pc"), with its output
# in OUTDIR/name.out. The table at the end gives, per row, the machine, the
# CPU model, the features the kernel detected (its `cpu:` boot line), the
# direct map's 1 GiB / 2 MiB pages (`paging:`), the RAM above 4 GiB (`pmm:
# zone Normal`), the verdict, the counts and the seconds. Exit status 0 iff
# every row passed.
set -uo pipefail

out=${1:?usage: matrix.sh OUTDIR 'name|make arguments' ...}
shift
MAKE=${MAKE:-make}
mkdir -p "$out"

names=() verdicts=() lines=()
failed=0
t_all=$SECONDS

# The value of KEY=... among the row's words, or the default.
arg() {
	local key=$1 def=$2 w
	shift 2
	for w in "$@"; do
		[[ $w == "$key="* ]] && def=${w#"$key="}
	done
	printf '%s' "$def"
}

# What the kernel detected, from its serial log.
detected() {
	local log=$1 feats='' dm='' high=''
	local cpu
	cpu=$(grep -a -m1 '^cpu: nx ' "$log" 2>/dev/null | tr -d '\r')
	if [ -n "$cpu" ]; then
		feats=$(echo "$cpu" | sed 's/^cpu: //' | awk '{
			s = ""
			for (i = 1; i < NF; i += 2)
				if ($(i + 1) == 1 && $i != "hypervisor")
					s = s (s ? "," : "") $i
			print (s ? s : "-")
		}')
	fi
	dm=$(grep -a -m1 '^paging: .*direct map' "$log" 2>/dev/null | tr -d '\r' |
		sed -n 's/.*: \([0-9]*\) x 1 GiB, \([0-9]*\) x 2 MiB.*/\1G+\2M/p')
	high=$(grep -a -m1 '^pmm: zone Normal' "$log" 2>/dev/null | tr -d '\r' |
		sed -n 's/.* \([0-9]*\) MiB$/\1M/p')
	printf '%s %s %s' "${feats:--}" "${dm:--}" "${high:-0}"
}

for spec in "$@"; do
	name=${spec%%|*}
	eval "args=(${spec#*|})"
	log=$out/$name.log
	rm -f "$log" "$out/$name.out"
	echo "==== matrix: $name: make test ${spec#*|}"
	t0=$SECONDS
	"$MAKE" --no-print-directory test "${args[@]}" HOST_TESTS= TEST_LOG="$log" \
		2>&1 | tee "$out/$name.out"
	rc=${PIPESTATUS[0]}
	secs=$((SECONDS - t0))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$out/$name.out" | tail -1)
	read -r passed _ failed_n _ skipped _ <<<"${summary:-? ? ? ? ? ?}"
	if [ "$rc" -eq 0 ]; then
		verdict=PASS
	else
		verdict=FAIL
		failed=$((failed + 1))
	fi
	machine=$(arg QEMU_ARGS '-machine q35' "${args[@]}" | sed -n 's/.*-machine \([^ ]*\).*/\1/p')
	read -r feats dm high <<<"$(detected "$log")"
	names+=("$name")
	verdicts+=("$verdict")
	lines+=("$(printf '%-17s %-7s %-15s %4s %5s %-28s %-8s %6s  %-4s %4s %4s %4s %6s' \
		"$name" "${machine:-q35}" "$(arg QEMU_CPU max "${args[@]}")" \
		"$(arg SMP 4 "${args[@]}")" "$(arg MEM 512M "${args[@]}")" "$feats" "$dm" \
		"$high" "$verdict" "$passed" "$failed_n" "$skipped" "$secs s")")
	echo "==== matrix: $name: $verdict in $secs s (log $log)"
	echo
done

echo "matrix: $# rows in $((SECONDS - t_all)) s (logs in $out/<row>.log, verdicts in <row>.out)"
printf '%-17s %-7s %-15s %4s %5s %-28s %-8s %6s  %-4s %4s %4s %4s %6s\n' row machine cpu \
	cpus mem 'detected (cpu: line)' 'dmap' '>4GiB' '' pass fail skip time
for l in "${lines[@]}"; do
	echo "$l"
done
if [ "$failed" -ne 0 ]; then
	bad=()
	for i in "${!names[@]}"; do
		[ "${verdicts[$i]}" = FAIL ] && bad+=("${names[$i]}")
	done
	echo "matrix: $failed of $# rows FAILED: ${bad[*]}"
	exit 1
fi
echo "matrix: all $# rows passed"
