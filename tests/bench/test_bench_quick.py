"""`zhitongche bench --quick` runs in CI: figures are printed, never asserted on time; what is
asserted is that it completes, prints every figure and that its correctness checks passed
(every case completes, the looping case ends completed, every timer fires once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tooling.bench import pg

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_completes_prints_figures_and_passes_its_checks(tmp_path):
    env = {**os.environ, "ZHITONGCHE_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    out = tmp_path / "PERFORMANCE.md"
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "bench", "--quick", "--write", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    text = result.stdout
    assert result.returncode == 0, text[-3000:] + result.stderr[-3000:]
    for figure in (
        "(a) bare library",
        "(b) engine + SQLite WAL",
        "b/a =",
        "(d) loop     1:",
        "(d) loop    50:",
        "d50/d1 = ",
        "(a) bare library, its default script engine",
        "b/a against the library's default engine =",
        "(c) HTTP sqlite      1 clients",
        "(c) HTTP sqlite     16 clients",
        "(g) inbox sqlite",
        "sqlite: 16 clients ÷ 1 client",
    ):
        assert figure in text, f"{figure!r} not printed:\n{text}"
    assert "after 54 loops the case is completed with 55 result reviews" in text
    if pg.reachable() is None:
        for figure in (
            "(c) HTTP postgresql 16 clients",
            "(g) inbox postgresql",
            "(e) inbox",
            "(e) dashboard",
            "(e) assessment, city WG, one year",
            "(f) 1 worker process:",
            "(f) 2 worker processes:",
            "f2/f1 =",
        ):
            assert figure in text, f"{figure!r} not printed:\n{text}"
    assert "correctness: all checks passed" in text
    assert "FAILED" not in text
    written = out.read_text(encoding="utf-8")
    assert "### Machine" in written and "### Ratios" in written and "b/a = " in written
