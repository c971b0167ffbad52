"""Which modules the app really imports: runs every command (and the window's smoke test) from source, each in a
fresh interpreter, and writes the union of `sys.modules` to packaging/imported-modules.txt. The spec keeps out of
the bundle the heavy packages' subpackages that never appear there (see scalpdesk.spec); the bundle test then runs
every command in the built bundle.

Run from the repository root: .venv/bin/python packaging/trace_imports.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOK = ("import atexit, sys\n"
        "def _dump():\n"
        "    with open({out!r}, 'a') as fh:\n"
        "        fh.write('\\n'.join(sorted(sys.modules)) + '\\n')\n"
        "atexit.register(_dump)\n"
        "sys.argv = ['main.py', *{args!r}]\n"
        "import runpy\n"
        "runpy.run_path({main!r}, run_name='__main__')\n")


def _formats(tmp: Path) -> list[str]:
    """The sample in every import format (feather needs pyarrow, a zip zipfile/zlib...)."""
    import json
    import zipfile

    import pandas as pd

    frame = pd.read_csv(ROOT / "data" / "SIM_USDT-5m.csv")
    tcol = frame.columns[0]
    feather = tmp / "SIMB_USDT-5m.feather"
    f2 = frame.copy()
    f2["date"] = pd.to_datetime(f2[tcol], unit="ms", utc=True)
    f2[["date", "open", "high", "low", "close", "volume"]].to_feather(feather)
    js = tmp / "SIMC_USDT-5m.json"
    js.write_text(json.dumps(frame[[tcol, "open", "high", "low", "close", "volume"]].values.tolist()))
    zp = tmp / "SIMDUSDT-5m-2024-01.zip"
    with zipfile.ZipFile(zp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("SIMDUSDT-5m-2024-01.csv", frame.to_csv(index=False, header=False))
    return [str(feather), str(js), str(zp)]


def commands(tmp: Path) -> list[list[str]]:
    sample = str(ROOT / "data" / "SIM_USDT-5m.csv")
    formats = _formats(tmp)
    db = str(tmp / "trace.sqlite")
    pdf = str(tmp / "r.pdf")
    return [
        ["--smoke-test"],
        ["--version"],
        ["scan", "--source", "sim", "--json"],
        ["scan", "--source", "files", "--data", sample, "--json"],
        ["backtest", "--sim", "20000", "--db", db, "--json"],
        ["backtest", "--data", sample, *formats, "--db", db, "--json"],
        ["train", "--db", db, "--run", "1", "--force", "--model", str(tmp / "m.model"), "--json"],
        ["optimize", "thresholds", "--db", db, "--run", "1", "--json"],
        ["optimize", "patterns", "--db", db, "--run", "1", "--json"],
        ["track", "--source", "replay", "--data", sample, "--db", db, "--model", str(tmp / "m.model"), "--json"],
        ["track", "--source", "sim", "--cycles", "1", "--db", db, "--json"],
        ["scan", "--source", "exchange", "--symbols", "BTC/USDT", "--exchange-url", "http://127.0.0.1:9", "--json"],
        ["report", "--period", "weekly", "--db", db, "--out", pdf, "--json"],
        ["report", "--run", "1", "--db", db, "--out", pdf, "--json"],
        ["notify", "--test", "--json"],
        ["db", "check", "--db", db, "--json"],
        ["db", "backup", "--db", db, "--json"],
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        out = tmp / "modules.txt"
        env = {**os.environ, "SCALPDESK_HOME": str(tmp / "home"), "QT_QPA_PLATFORM": "offscreen"}
        for args in commands(tmp):
            code = HOOK.format(out=str(out), args=args, main=str(ROOT / "main.py"))
            proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=1800)
            print(f"{proc.returncode:>3}  {' '.join(args)}", flush=True)
        names = sorted(set(out.read_text().split()))
    (ROOT / "packaging" / "imported-modules.txt").write_text("\n".join(names) + "\n")
    print(f"{len(names)} modules -> packaging/imported-modules.txt")


if __name__ == "__main__":
    main()
