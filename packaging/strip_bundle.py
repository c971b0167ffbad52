"""Strip the debug symbols out of a built bundle's shared libraries (Linux), about 110 MB.

PyInstaller's own `strip` runs on every library, and breaks the ones auditwheel/patchelf rewrote (numpy's openblas:
"ELF load command address/offset not page-aligned"). Here each library is stripped into a copy, and the copy is
kept only when every PT_LOAD segment still satisfies what the loader requires (offset = address modulo the
segment's alignment); otherwise the original stays.

Usage: python packaging/strip_bundle.py dist/ScalpDesk
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path


def loadable(path: Path) -> bool:
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return False
    end = "<" if data[5] == 1 else ">"
    phoff, = struct.unpack_from(end + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, p_align = struct.unpack_from(
            end + "IIQQQQQQ", data, phoff + i * phentsize)
        if p_type != 1:  # PT_LOAD
            continue
        if p_align > 1 and (p_offset % p_align) != (p_vaddr % p_align):
            return False
        if p_offset + p_filesz > len(data):
            return False
    return True


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def main(folder: str) -> None:
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        print("strip: not on Linux or no strip tool; skipped")
        return
    saved = kept = 0
    for path in Path(folder).rglob("*"):
        if path.is_symlink() or not path.is_file() or ".so" not in path.name or not is_elf(path):
            continue
        tmp = path.with_name(path.name + ".stripped")
        try:
            subprocess.run([strip, "--strip-unneeded", "-o", str(tmp), str(path)], check=True, capture_output=True)
            if loadable(tmp) and tmp.stat().st_size < path.stat().st_size:
                saved += path.stat().st_size - tmp.stat().st_size
                shutil.copymode(path, tmp)
                os.replace(tmp, path)
            else:
                kept += 1
        except subprocess.CalledProcessError:
            kept += 1
        finally:
            tmp.unlink(missing_ok=True)
    print(f"strip: {saved / 1e6:.0f} MB saved, {kept} libraries left as they were")


if __name__ == "__main__":
    main(sys.argv[1])
