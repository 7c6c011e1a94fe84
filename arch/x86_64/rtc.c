/*
 * arch/x86_64/rtc.c - the CMOS real-time clock (Motorola MC146818 and
 * compatibles, ports 0x70/0x71), read once at boot for the wall clock.
 *
 * What it does: arch_read_wall_clock() waits for the chip to finish an
 * update (status A bit 7, UIP, set for up to 2 ms before the registers
 * change), reads seconds .. year and the century register, and reads them
 * again until two reads agree, as Linux's mc146818_get_time does, so a
 * roll-over between two register reads cannot give 12:59:00 for 13:00:00.
 * Status register B says how the values are encoded: BCD unless bit 2 (DM),
 * 12-hour with bit 7 of the hour meaning PM unless bit 1 (24/12). The
 * century comes from register 0x32 (ACPI's default CENTURY index, which
 * QEMU and PCs fill); without it a two-digit year is taken as 1970-2069.
 * The RTC keeps UTC on QEMU (its default -rtc base=utc) and on Linux
 * machines, so no time zone is applied.
 *
 * Concurrency: called once on the BSP before the APs start (timekeeping
 * init); nothing else touches ports 0x70/0x71. The index write leaves bit 7
 * (NMI disable on PCs) clear, as Linux's CMOS_READ does.
 */
#include "arch/x86_64/rtc.h"
#include "arch/x86_64/asm.h"
#include "arch/arch.h"
#include "kernel/string.h"

#define CMOS_INDEX    0x70
#define CMOS_DATA     0x71
#define RTC_SECONDS   0x00
#define RTC_MINUTES   0x02
#define RTC_HOURS     0x04
#define RTC_MDAY      0x07
#define RTC_MONTH     0x08
#define RTC_YEAR      0x09
#define RTC_STATUS_A  0x0a
#define RTC_STATUS_B  0x0b
#define RTC_CENTURY   0x32
#define RTC_A_UIP     0x80
#define RTC_MAX_TRIES 1000000 /* UIP polls before giving up (an absent chip) */

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static void rtc_read_regs(struct rtc_regs *r)
{
	r->sec = cmos_read(RTC_SECONDS);
	r->min = cmos_read(RTC_MINUTES);
	r->hour = cmos_read(RTC_HOURS);
	r->mday = cmos_read(RTC_MDAY);
	r->mon = cmos_read(RTC_MONTH);
	r->year = cmos_read(RTC_YEAR);
	r->century = cmos_read(RTC_CENTURY);
	r->status_b = cmos_read(RTC_STATUS_B);
}

static bool rtc_wait_not_updating(void)
{
	for (int i = 0; i < RTC_MAX_TRIES; i++)
		if (!(cmos_read(RTC_STATUS_A) & RTC_A_UIP))
			return true;
	return false;
}

static unsigned bcd(uint8_t v, bool binary)
{
#ifdef MUTATION_RTC_IGNORES_BCD
	(void)binary;
	return v;
#else
	return binary ? v : (v >> 4) * 10 + (v & 15);
#endif
}

/* Howard Hinnant's days_from_civil. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t rtc_regs_to_unix(const struct rtc_regs *r)
{
	bool bin = r->status_b & RTC_B_BINARY;
	unsigned sec = bcd(r->sec, bin), min = bcd(r->min, bin);
	unsigned hour = bcd(r->hour & ~RTC_HOUR_PM, bin), mday = bcd(r->mday, bin);
	unsigned mon = bcd(r->mon, bin), year = bcd(r->year, bin);
	unsigned century = r->century ? bcd(r->century, bin) : 0;

#ifndef MUTATION_RTC_IGNORES_12H
	if (!(r->status_b & RTC_B_24H)) { /* 12 AM is 0:xx, 12 PM is 12:xx */
		if (hour == 12)
			hour = 0;
		if (r->hour & RTC_HOUR_PM)
			hour += 12;
	}
#endif
	if (sec > 59 || min > 59 || hour > 23 || mday < 1 || mday > 31 || mon < 1 || mon > 12 ||
	    year > 99 || (century && (century < 19 || century > 99)))
		return -1;
	unsigned full = century ? century * 100 + year : (year < 70 ? 2000 : 1900) + year;
	return days_from_civil(full, mon, mday) * 86400 + hour * 3600 + min * 60 + sec;
}

int64_t arch_read_wall_clock(void)
{
	struct rtc_regs a, b;
	for (int tries = 0; tries < 10; tries++) {
		if (!rtc_wait_not_updating())
			return -1;
		rtc_read_regs(&a);
		if (!rtc_wait_not_updating())
			return -1;
		rtc_read_regs(&b);
		if (!memcmp(&a, &b, sizeof(a)))
			return rtc_regs_to_unix(&a);
	}
	return -1;
}
