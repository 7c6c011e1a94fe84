#!/bin/sh
# tools/gensyms.sh ELF - emit an assembly file holding the kernel's text
# symbols, sorted by address, for symbolized backtraces (kernel/ksyms.c):
#   .ksyms: u64 count, then count x { u64 addr, u64 name_offset }, then names.
set -e
nm -n "$1" | awk '
$2 ~ /^[tT]$/ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .ksyms, \"a\""
	print "\t.balign 8"
	print "\t.globl ksyms_table"
	print "ksyms_table:"
	printf "\t.quad %d\n", n
	for (i = 0; i < n; i++)
		printf "\t.quad 0x%s, .Lname%d - ksyms_table\n", addr[i], i
	for (i = 0; i < n; i++)
		printf ".Lname%d: .asciz \"%s\"\n", i, name[i]
}'
