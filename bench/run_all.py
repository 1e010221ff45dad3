"""Run every ``bench/bench_*.py`` (``make bench``), then rebuild ``docs/benchmarks.md``.

A bench that does not write ``bench/results/<name>.json`` itself (one not on
:mod:`benchkit` yet) gets its printed output stored there, so the page shows every
bench of the run. Every bench runs even when one fails; the exit status is then 1.

    .venv/bin/python bench/run_all.py [NAME ...]   # e.g. ingest llrp_reader
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import benchkit


def main(argv: list[str]) -> int:
    scripts = sorted((benchkit.ROOT / "bench").glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed: list[str] = []
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        result = benchkit.RESULTS / f"{name}.json"
        started = time.time()
        sys.stdout.write(f"== {script.relative_to(benchkit.ROOT)}\n")
        sys.stdout.flush()
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=benchkit.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        output: list[str] = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            output.append(line)
        code = proc.wait()
        if code != 0:
            failed.append(f"{script.name} (exit {code})")
        if not result.exists() or result.stat().st_mtime < started:
            benchkit.RESULTS.mkdir(parents=True, exist_ok=True)
            result.write_text(
                json.dumps(
                    {
                        "name": name,
                        "title": f"{name} (printed output)",
                        "script": f"bench/{script.name}",
                        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "machine": benchkit.machine(),
                        "exit_code": code,
                        "output": "".join(output[-60:]),
                    },
                    indent=2,
                )
                + "\n"
            )
    benchkit.render()
    if failed:
        sys.stdout.write(f"failed: {', '.join(failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
