/*
 * kernel/console_file.h - stdin/stdout/stderr on the console (the serial
 * port and the framebuffer): see console_file.c.
 */
#ifndef KERNEL_CONSOLE_FILE_H
#define KERNEL_CONSOLE_FILE_H

#include "kernel/compiler.h"

struct kfile;
struct files_struct;

#define TCGETS	   0x5401
#define TCSETS	   0x5402
#define TCSETSW	   0x5403
#define TCSETSF	   0x5404
#define TIOCGPGRP  0x540f
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD   0x541b
#define FIONBIO	   0x5421
#define FIONCLEX   0x5450
#define FIOCLEX	   0x5451

/* struct termios as the kernel's TCGETS copies it out (36 bytes). */
struct kernel_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[19];
};
struct kernel_winsize {
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};

/* A new kfile on the console, open for read and write (one reference). */
struct kfile *console_file_open(int flags);
/* fds 0, 1, 2 of files on the console (for pid 1). 0 or -errno. */
int console_install_stdio(struct files_struct *files);

/* Tests: type input into the tty as if from the keyboard (n == 0: throw
 * away pending input), and output captured instead of printed (NULL:
 * printed). */
void console_inject_input(const char *s, size_t n);
extern void (*console_output_sink)(const char *s, size_t n);

#endif
