"""tools/compare/linux.py - Debian's Linux 6.1 for `make compare`, taken
out of its package without installing it (installing would run the host's
initramfs and boot-loader hooks).

fetch(dest): the package linux-image-amd64 depends on (apt-cache depends:
today linux-image-6.1.0-57-amd64) is downloaded with `apt-get download`
into DEST/deb/ and unpacked with `dpkg-deb -x` into DEST/root/. Cached:
nothing is downloaded when DEST/root/ already holds the unpacked package
(DEST/package names it); a .deb put in DEST/deb/ by hand is used as it is
(offline). Debian 12 ships its modules uncompressed (CONFIG_MODULE_COMPRESS_
NONE); .ko.xz and .ko.gz are decompressed here, .ko.zst with the zstd tool.

modules(info, names): the module files NAMES need, dependencies first
(the depends= field of each module's .modinfo section; Debian's package
has no modules.dep, depmod makes it at install).
"""
import glob
import gzip
import lzma
import os
import re
import shutil
import subprocess


class FetchError(Exception):
    pass


def _run(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise FetchError("%s: %s" % (cmd[0], e))


def package_name(meta="linux-image-amd64"):
    r = _run(["apt-cache", "depends", meta])
    if r.returncode:
        raise FetchError("apt-cache depends %s failed: %s" %
                         (meta, r.stderr.strip() or r.stdout.strip()))
    for line in r.stdout.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if m:
            return m.group(1)
    raise FetchError("apt-cache depends %s: no linux-image-* dependency "
                     "(is Debian's main archive in the apt sources?)" % meta)


def _info(dest):
    root = os.path.join(dest, "root")
    kernels = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if not kernels:
        return None
    vmlinuz = kernels[-1]
    release = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    config = os.path.join(root, "boot", "config-" + release)
    try:
        with open(os.path.join(dest, "package")) as f:
            package = f.read().strip()
    except OSError:
        package = "?"
    return {"package": package, "release": release, "vmlinuz": vmlinuz,
            "config": config,
            "moddir": os.path.join(root, "lib", "modules", release)}


def fetch(dest, log=print):
    info = _info(dest)
    if info:
        return info
    debdir = os.path.join(dest, "deb")
    os.makedirs(debdir, exist_ok=True)
    debs = sorted(glob.glob(os.path.join(debdir, "linux-image-*.deb")))
    if not debs:
        try:
            pkg = package_name()
        except FetchError as e:
            raise FetchError("%s\ncannot find Debian's kernel package: put "
                             "linux-image-6.1.*-amd64_*.deb in %s by hand" %
                             (e, debdir))
        log("compare: downloading %s (apt-get download, not installed)" % pkg)
        r = _run(["apt-get", "download", pkg], cwd=debdir)
        debs = sorted(glob.glob(os.path.join(debdir, pkg + "_*.deb")))
        if r.returncode or not debs:
            raise FetchError(
                "apt-get download %s failed (no network or apt unavailable?):"
                "\n%s\nput the .deb in %s by hand (any machine: apt-get "
                "download %s)" % (pkg, (r.stderr or r.stdout).strip(),
                                  debdir, pkg))
    deb = debs[-1]
    root = os.path.join(dest, "root")
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    log("compare: unpacking %s" % os.path.basename(deb))
    r = _run(["dpkg-deb", "-x", deb, tmp])
    if r.returncode:
        raise FetchError("dpkg-deb -x %s: %s" % (deb, r.stderr.strip()))
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
    with open(os.path.join(dest, "package"), "w") as f:
        f.write(os.path.basename(deb)[:-len(".deb")] + "\n")
    info = _info(dest)
    if not info:
        raise FetchError("%s has no boot/vmlinuz-*" % deb)
    return info


def config_value(info, key):
    """CONFIG_KEY's value in the package's config-* file ('y', 'm', None)."""
    try:
        with open(info["config"]) as f:
            for line in f:
                if line.startswith(key + "="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def _module_index(moddir):
    index = {}
    for path in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko*"),
                          recursive=True):
        base = os.path.basename(path).split(".ko")[0].replace("-", "_")
        index[base] = path
    return index


def _module_bytes(path):
    if path.endswith(".ko"):
        with open(path, "rb") as f:
            return f.read()
    if path.endswith(".ko.xz"):
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".ko.gz"):
        with gzip.open(path) as f:
            return f.read()
    if path.endswith(".ko.zst"):
        r = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE)
        if r.returncode == 0:
            return r.stdout
        raise FetchError("%s: zstd -dc failed (install zstd)" % path)
    raise FetchError("%s: unknown module compression" % path)


def _depends(data):
    m = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
    if not m or not m.group(1):
        return []
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",") if d]


def modules(info, names):
    """[(name, bytes)] for NAMES and what they depend on, in load order.
    A name the kernel has built in (CONFIG_...=y, no .ko) is left out."""
    index = _module_index(info["moddir"])
    order, seen = [], set()

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in seen:
            return
        if name in chain:
            raise FetchError("module dependency loop: %s" %
                             " -> ".join(chain + [name]))
        path = index.get(name)
        if path is None:
            return  # built in (or absent: finit_module of the user fails)
        data = _module_bytes(path)
        for dep in _depends(data):
            visit(dep, chain + [name])
        seen.add(name)
        order.append((name, data))

    for n in names:
        visit(n, [])
    return order
