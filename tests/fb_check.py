#!/usr/bin/env python3
"""tests/fb_check.py - `make test-fb`: the framebuffer console and the PS/2
keyboard are enough to use the shell (issue 15).

What it does: boots the kernel like `make run` / `make test-shell`
(tests/runner.py's QEMU command line, headless, serial on stdio) with one
more option, `-monitor unix:SOCK,server=on,wait=off`: QEMU's human monitor
on a unix socket. Nothing is ever written to the serial port (QEMU's stdin
is /dev/null). Once the shell prompt shows on the serial console, every
command is typed with the monitor's `sendkey` (QEMU's PS/2 keyboard, so
the kernel reads it from the i8042 as scan codes), one key every
KEY_PAUSE_S seconds (busybox's line editing merges bytes that follow an
ESC within 50 ms into one escape sequence). The session:

  clear                       (a clean screen: ESC [ H ESC [ J on fbcon)
  echo fb-$((6*7))            (shifted keys: $ ( ) *; prints fb-42)
  sleep 30, then Ctrl-C       (SIGINT through the keyboard's Ctrl)
  echo rc=$?                  (130: the sleep was killed by SIGINT)
  echo edt-okk, Backspace, Left x4, i, Enter   (line editing: echo edit-ok)
  Up, Enter                   (history: edit-ok again)
  cho home-endZ, Home, e, End, Left, Delete, Enter   (echo home-end)
  echo kp-$(( Num Lock, keypad 7 * 6 - 1, Num Lock, ))   (kp-41)
  ech, Tab, tab-ok, Enter     (busybox completes `echo `)

After each command the serial console must show its output and a new
prompt (the console tty writes to the serial port and the framebuffer).
Then `screendump` writes the screen (PPM); the text on it is read back by
matching each 8x16 cell against the kernel's own font (the bitmaps of
drivers/font.c; the grid of drivers/fbcon.c starts at pixel 0,0, one cell
FONT_WIDTH x FONT_HEIGHT, ink is any pixel that differs from the cell's
top-left pixel, which is blank in every glyph; a cell whose last two scan
lines are inverted is the cursor) and the typed commands and their output
must be on it, the cursor after the last prompt. --png FILE also writes the screen, cropped to
the rows in use, as a PNG (docs/fb-shell.png).

Prints PASS:/FAIL: lines and a summary; exit status 0 iff all passed.
Options: tests/runner.py's (--kernel, --loader, --initrd, --smp, --mem,
--cmdline, --log, --qemu-arg, ...) plus --png FILE, --ppm FILE (keep the
raw screendump), --boot-timeout S.
"""
import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no tests/__pycache__ from the import below
sys.path.insert(0, HERE)
import runner  # noqa: E402  (tests/runner.py)

KEY_PAUSE_S = 0.12  # between two sendkey commands
CMD_TIMEOUT_S = 15  # a typed command's output and the next prompt
CTRL_C_AFTER_S = 1.5  # how long `sleep 30` runs before Ctrl-C
PROMPT_RE = re.compile(r"(^|\n)[~/][^\n ]* # $")

# Characters to QEMU key names (`sendkey`, qapi QKeyCode), US layout.
KEYS = {" ": "spc", "\n": "ret", "-": "minus", "=": "equal", "[": "bracket_left",
        "]": "bracket_right", "\\": "backslash", ";": "semicolon",
        "'": "apostrophe", "`": "grave_accent", ",": "comma", ".": "dot",
        "/": "slash", "*": "kp_multiply", "\t": "tab"}
SHIFTED = {"!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6", "&": "7",
           "(": "9", ")": "0", "_": "minus", "+": "equal", "{": "bracket_left",
           "}": "bracket_right", "|": "backslash", ":": "semicolon",
           '"': "apostrophe", "~": "grave_accent", "<": "comma", ">": "dot",
           "?": "slash"}


def key_name(ch):
    if ch.isdigit() or ("a" <= ch <= "z"):
        return ch
    if "A" <= ch <= "Z":
        return "shift-" + ch.lower()
    if ch in KEYS:
        return KEYS[ch]
    if ch in SHIFTED:
        return "shift-" + SHIFTED[ch]
    raise ValueError("no key for %r" % ch)


# ---- the kernel's font and the screen ----

def load_font(path):
    """{glyph bytes (16-tuple): char} from drivers/font.c, and the size."""
    src = open(path).read()
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    hdr = open(os.path.join(os.path.dirname(path), "font.h")).read()
    w = int(re.search(r"#define\s+FONT_WIDTH\s+(\d+)", hdr).group(1))
    h = int(re.search(r"#define\s+FONT_HEIGHT\s+(\d+)", hdr).group(1))
    glyphs = {}
    for m in re.finditer(r"\[\s*0x([0-9a-fA-F]+)\s*-\s*FONT_FIRST\s*\]\s*=\s*\{([^}]*)\}", src):
        bits = tuple(int(x, 0) for x in m.group(2).split(",") if x.strip())
        if len(bits) != h:
            raise ValueError("font.c: glyph 0x%s has %d rows" % (m.group(1), len(bits)))
        glyphs.setdefault(bits, chr(int(m.group(1), 16)))
    m = re.search(r"font_fallback\s*\[[^]]*\]\s*=\s*\{([^}]*)\}", src)
    if m:
        glyphs.setdefault(tuple(int(x, 0) for x in m.group(1).split(",") if x.strip()),
                          "\x7f")
    if len(glyphs) < 90:
        raise ValueError("font.c: only %d glyphs parsed" % len(glyphs))
    return glyphs, w, h


def read_ppm(path):
    """(width, height, RGB bytes) of a binary PPM (P6, maxval 255)."""
    data = open(path, "rb").read()
    fields = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1  # one whitespace byte after maxval
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ValueError("not a P6 PPM with maxval 255: %r" % fields)
    w, h = int(fields[1]), int(fields[2])
    pix = data[pos:pos + w * h * 3]
    if len(pix) != w * h * 3:
        raise ValueError("PPM truncated")
    return w, h, pix


def screen_text(w, h, pix, glyphs, fw, fh):
    """The text grid: a list of rows (strings, '?' for a cell that matches
    no glyph), the count of unknown cells, and the cells that show the
    cursor (fbcon's underline: the last two scan lines inverted)."""
    rows, unknown, cursors = [], 0, []
    stride = w * 3
    for cy in range(h // fh):
        row = []
        for cx in range(w // fw):
            x0, y0 = cx * fw, cy * fh
            o = y0 * stride + x0 * 3
            bg = pix[o:o + 3]
            bits = []
            for r in range(fh):
                line = pix[(y0 + r) * stride + x0 * 3:(y0 + r) * stride + (x0 + fw) * 3]
                v = 0
                for x in range(fw):
                    if line[x * 3:x * 3 + 3] != bg:
                        v |= 0x80 >> x
                bits.append(v)
            ch = glyphs.get(tuple(bits))
            if ch is None:
                ch = glyphs.get(tuple(bits[:-2] + [b ^ 0xff for b in bits[-2:]]))
                if ch is not None:
                    cursors.append((cx, cy))
            if ch is None:
                ch = "?"
                unknown += 1
            row.append(ch)
        rows.append("".join(row).rstrip())
    return rows, unknown, cursors


def write_png(path, w, h, pix):
    """pix: RGB rows; PNG colour type 2, 8 bits, filter 'Up' per row."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = bytearray()
    stride = w * 3
    prev = bytes(stride)
    for y in range(h):
        line = pix[y * stride:(y + 1) * stride]
        raw.append(2)  # Up
        raw += bytes((a - b) & 0xff for a, b in zip(line, prev))
        prev = line
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
    return len(png)


# ---- QEMU's human monitor on a unix socket ----

class Monitor:
    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(10)
        self._until_prompt()

    def _until_prompt(self):
        got = b""
        while not got.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("monitor closed")
            got += chunk
        return got.decode("utf-8", "replace")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        out = runner.ANSI_RE.sub("", self._until_prompt())
        # the echo of the command, its output, the prompt
        return out.replace("\r", "").split("\n", 1)[-1].rsplit("(qemu) ", 1)[0].strip()

    def close(self):
        self.sock.close()


# ---- the check ----

class Stuck(Exception):
    """A typed command got no new prompt: the session cannot go on."""


def main(argv=None):
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--png", default=None)
    ap.add_argument("--ppm", default=None)
    ap.add_argument("--boot-timeout", type=int, default=90)
    ap.add_argument("-h", "--help", action="store_true")
    own, rest = ap.parse_known_args(argv)
    if own.help:
        print(__doc__)
        return 0
    if not any(a == "--log" or a.startswith("--log=") for a in rest):
        rest += ["--log", "build/test-fb.log"]
    args = runner.parse_args(rest)
    root = os.path.dirname(HERE)
    glyphs, fw, fh = load_font(os.path.join(root, "drivers", "font.c"))

    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("PASS: %s" % what)
        else:
            failed += 1
            print("FAIL: %s" % what)
        sys.stdout.flush()
        return ok

    tmp = tempfile.mkdtemp(prefix="fb-check-")
    args.tmpdir = tmp
    sock_path = os.path.join(tmp, "monitor.sock")
    ppm = own.ppm or os.path.join(tmp, "screen.ppm")
    sess = mon = None
    t0 = time.monotonic()
    try:
        disk = os.path.join(tmp, "esp.img")
        runner.mkesp.build_esp(disk, args.loader, args.kernel, args.cmdline,
                               args.initrd or None)
        vars_copy = os.path.join(tmp, "OVMF_VARS.fd")
        shutil.copyfile(args.ovmf_vars, vars_copy)
        cmd = runner.qemu_command(args, disk, vars_copy, "script")
        i = cmd.index("-monitor")
        cmd[i + 1] = "unix:%s,server=on,wait=off" % sock_path
        print("fb_check: %s, %d CPUs, keys through QEMU's monitor (sendkey), "
              "serial input /dev/null" % (runner.shortpath(args.kernel), args.smp))
        sys.stdout.flush()
        sess = runner.Session(cmd, args.log, os.path.join(tmp, "qemu.stderr"),
                              stdin=subprocess.DEVNULL)
        raw = ""  # serial output since the last command

        def wait_for(pred, deadline):
            nonlocal raw
            while True:
                text = runner.script_text(raw)
                if pred(text):
                    more = sess.read_raw(time.monotonic() + runner.SCRIPT_SETTLE_S)
                    if not more:
                        return text
                    raw += more
                    continue
                if time.monotonic() >= deadline or sess.eof or "KERNEL PANIC" in raw:
                    return None
                raw += sess.read_raw(deadline)

        def prompt_seen(text):
            return bool(PROMPT_RE.search(text))

        text = wait_for(prompt_seen, time.monotonic() + own.boot_timeout)
        if not check(text is not None, "the shell prompt on the serial console "
                     "(%.1f s after QEMU started)" % sess.elapsed()):
            for x in runner.script_text(raw).splitlines()[-15:]:
                print("fb_check:   | %s" % x)
            print(sess.qemu_stderr())
            return 1
        mon = Monitor(sock_path, time.monotonic() + 10)

        def keys(names):
            for k in names:
                r = mon.cmd("sendkey %s" % k)
                if r:
                    raise RuntimeError("sendkey %s: %s" % (k, r))
                time.sleep(KEY_PAUSE_S)

        def command(what, key_seq, expect_re, timeout=CMD_TIMEOUT_S):
            """Types key_seq; the serial output up to the next prompt must
            match expect_re (multiline). No prompt at all: Stuck."""
            nonlocal raw
            raw = ""
            t = time.monotonic()
            keys(key_seq)
            text = wait_for(prompt_seen, time.monotonic() + timeout)
            got = text or runner.script_text(raw)
            ok = text is not None and re.search(expect_re, got, re.M)
            check(ok, "%s: serial shows %r and a new prompt (%.1f s)" %
                  (what, expect_re, time.monotonic() - t))
            if not ok:
                for x in got.splitlines()[-8:]:
                    print("fb_check:   | %s" % x)
            if text is None:
                raise Stuck(what)
            return got

        def snap(name):
            """The screen now: (rows, unknown cells, cursor cells)."""
            path = os.path.join(tmp, name)
            r = mon.cmd("screendump %s" % path)
            if not os.path.isfile(path):
                raise RuntimeError("screendump %s: %s" % (name, r))
            w, h, pix = read_ppm(path)
            return screen_text(w, h, pix, glyphs, fw, fh)

        def line_keys(s):
            return [key_name(c) for c in s] + ["ret"]

        mid_edit = None
        try:
            command("clear", line_keys("clear"), r"clear")
            command("echo fb-$((6*7))", line_keys("echo fb-$((6*7))"), r"^fb-42$")
            # Ctrl-C of a running sleep: type it, wait, ^C, a prompt soon
            raw = ""
            keys(line_keys("sleep 30"))
            check(wait_for(prompt_seen, time.monotonic() + CTRL_C_AFTER_S) is None,
                  "sleep 30 still runs %.1f s later (no prompt)" % CTRL_C_AFTER_S)
            command("sleep 30 interrupted by Ctrl-C", ["ctrl-c"], r"\^C", timeout=10)
            command("echo rc=$?", line_keys("echo rc=$?"), r"^rc=130$")
            keys([key_name(c) for c in "echo edt-okk"] + ["backspace"] + ["left"] * 4)
            time.sleep(0.3)
            mid_edit = snap("mid-edit.ppm")
            command("line edit (Backspace, Left x4, insert)", ["i", "ret"], r"^edit-ok$")
            command("history (Up, Enter)", ["up", "ret"], r"^edit-ok$")
            command("Home, End, Delete",
                    [key_name(c) for c in "cho home-endZ"] +
                    ["home", "e", "end", "left", "delete", "ret"], r"^home-end$")
            command("the keypad (Num Lock on: 7 * 6 - 1; off again)",
                [key_name(c) for c in "echo kp-$(("] +
                ["num_lock", "kp_7", "kp_multiply", "kp_6", "kp_subtract", "kp_1",
                 "num_lock"] + line_keys("))"), r"^kp-41$")
            command("Tab completion", [key_name(c) for c in "ech"] + ["tab"] +
                    line_keys("tab-ok"), r"^tab-ok$")
        except Stuck as e:
            print("fb_check: no prompt after `%s`: no more keys sent" % e)

        # the screen
        time.sleep(0.5)
        r = mon.cmd("screendump %s" % ppm)
        if not check(os.path.isfile(ppm), "screendump wrote %s%s" %
                     (os.path.basename(ppm), " (%s)" % r if r else "")):
            return 1
        w, h, pix = read_ppm(ppm)
        rows, unknown, cursors = screen_text(w, h, pix, glyphs, fw, fh)
        used = [i for i, x in enumerate(rows) if x.strip()]
        print("fb_check: screen %dx%d pixels, %dx%d cells; text rows in use:" %
              (w, h, w // fw, h // fh))
        for i in used:
            print("  %2d|%s" % (i, rows[i]))
        check(unknown == 0, "every cell on the screen is a glyph of drivers/font.c "
              "(%d unknown)" % unknown)

        def on_screen(pattern, what):
            hit = [i for i, x in enumerate(rows) if re.search(pattern, x)]
            check(bool(hit), "screen: %s" % what)
            return hit

        on_screen(r"# echo fb-\$\(\(6\*7\)\)$", "the typed command `echo fb-$((6*7))`")
        on_screen(r"^fb-42$", "its output `fb-42`")
        on_screen(r"# sleep 30(\^C)?$", "`sleep 30`")
        on_screen(r"^rc=130$", "`rc=130` (the sleep killed by SIGINT)")
        on_screen(r"# echo edit-ok$", "the edited line `echo edit-ok` (no leftovers)")
        hit = [i for i, x in enumerate(rows) if x == "edit-ok"]
        check(len(hit) == 2, "screen: `edit-ok` twice (the edited line, then Up+Enter)")
        on_screen(r"# echo home-end$", "`echo home-end` (Home, End, Delete)")
        on_screen(r"^home-end$", "its output `home-end`")
        on_screen(r"# echo kp-\$\(\(7\*6-1\)\)$", "`echo kp-$((7*6-1))` (the keypad)")
        on_screen(r"^kp-41$", "its output `kp-41`")
        on_screen(r"# echo tab-ok$", "`echo tab-ok` (Tab completed `ech`)")
        on_screen(r"^tab-ok$", "its output `tab-ok`")
        check(bool(used) and PROMPT_RE.search(rows[used[-1]] + " ") is not None,
              "screen: a prompt on the last line in use")
        if mid_edit:
            mrows, _, mcur = mid_edit
            at = [i for i, x in enumerate(mrows) if x.endswith("# echo edt-ok")]
            want = (len("~ # echo ed"), at[-1]) if at else None
            check(at and mcur == [want], "screen during the edit: `echo edt-ok`, the "
                  "cursor on its `t` after Left x4: %s, expected %s" % (mcur, want))
        want = (len(rows[used[-1]]) + 1, used[-1]) if used else None
        check(cursors == [want], "screen: one cursor, after the last prompt: "
              "cell (column, row) %s, expected %s" % (cursors, want))
        check(re.search(r"^~ # echo fb-", rows[0]) is not None and
              not any("clear" in x for x in rows),
              "screen: cleared by `clear` (the next command on the top row)")
        # serial: the same session seen on the serial port, typed elsewhere
        log_text = open(args.log, "rb").read().decode("utf-8", "replace")
        check("echo fb-$((6*7))" in log_text and "fb-42" in log_text,
              "serial log: the echo of the keyboard's command and its output "
              "(QEMU's stdin was /dev/null: no byte came from the serial side)")

        if own.png and used:
            top = max(0, used[0] * fh - fh // 2)
            bottom = min(h, (used[-1] + 2) * fh)
            maxcol = max(len(rows[i]) for i in used)
            right = min(w, max(maxcol + 2, 64) * fw)
            crop = b"".join(pix[y * w * 3:y * w * 3 + right * 3] for y in range(top, bottom))
            n = write_png(own.png, right, bottom - top, crop)
            print("fb_check: wrote %s (%dx%d, %d bytes)" % (own.png, right, bottom - top, n))
    except (OSError, RuntimeError, ValueError, runner.mkesp.EspError) as e:
        check(False, "fb_check: %s" % e)
    finally:
        if mon:
            mon.close()
        if sess:
            sess.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("fb_check: %.1f s" % (time.monotonic() - t0))
    print(runner.summary_line(passed, failed, 0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
