/*
 * drivers/fbcon.h - text console on the GOP framebuffer.
 */
#ifndef DRIVERS_FBCON_H
#define DRIVERS_FBCON_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Take over a 32 bpp linear framebuffer: clear it and register the "fb"
 * console with printk. fb is the *virtual* address of the first pixel (the
 * direct-map alias of boot_info.fb_base); format is an enum boot_fb_format,
 * the masks matter only for BOOT_FB_BITMASK. Returns 0, or -22 (EINVAL) for
 * an unsupported format or an unusable geometry, in which case nothing is
 * touched. Calling it again re-targets the already registered console.
 */
int fbcon_init(void *fb, uint32_t width, uint32_t height, uint32_t pitch_bytes, uint32_t format,
	       uint32_t rmask, uint32_t gmask, uint32_t bmask);

/* The console as a terminal (kernel/tty.c; printk's writes take the same
 * path): bytes with escape sequences, see fbcon.c. No lock: callers
 * serialize (printk's lock; tests write while nothing else prints). */
void fbcon_tty_write(const char *s, size_t n);
/* false: no framebuffer console. */
bool fbcon_geometry(uint32_t *cols, uint32_t *rows);
/* Tests: the cursor cell, and the byte a cell shows (' ' when blank). */
void fbcon_cursor(uint32_t *x, uint32_t *y);
char fbcon_cell(uint32_t x, uint32_t y);
/* Tests: the pixel at (x, y) as stored in the framebuffer (0 outside). */
uint32_t fbcon_pixel(uint32_t x, uint32_t y);

#endif
