/*
 * arch/x86_64/rtc.h - the CMOS real-time clock (MC146818), read once at
 * boot for the wall clock (see rtc.c).
 */
#ifndef ARCH_X86_64_RTC_H
#define ARCH_X86_64_RTC_H

#include "kernel/compiler.h"

/* The raw time registers and status register B, as read from the chip. */
struct rtc_regs {
	uint8_t sec, min, hour, mday, mon, year, century; /* century: 0 if none */
	uint8_t status_b;
};

#define RTC_B_24H    0x02 /* hours 0-23 (else 1-12 with bit 7 = PM) */
#define RTC_B_BINARY 0x04 /* binary values (else BCD) */
#define RTC_HOUR_PM  0x80

/* Seconds since 1970-01-01 00:00 UTC for the registers, or -1 if a field
 * is out of range (a chip mid-update or absent). */
int64_t rtc_regs_to_unix(const struct rtc_regs *r);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
