"""Issue 20: the service units in deploy/systemd pass `systemd-analyze verify` (with the
install path pointed at this checkout), the zhitongche commands they run exist, and the
gunicorn settings load the app."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

UNITS = ROOT / "deploy" / "systemd"


def test_systemd_units_verify(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd-analyze missing (Debian package systemd)"
    names = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text(encoding="utf-8").replace("/opt/zhitongche", str(ROOT))
        name = unit.name.replace("@.service", "@1.service")  # a template is verified as an instance
        (tmp_path / name).write_text(text, encoding="utf-8")
        names.append(f"./{name}")
    assert {"zhitongche-web.service", "zhitongche-worker@1.service", "zhitongche-backup.timer"} <= {
        n[2:] for n in names
    }
    done = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr  # no error, no unknown key


def test_units_run_commands_that_exist():
    commands = set()
    for unit in UNITS.glob("*.service"):
        commands |= set(re.findall(r"bin/zhitongche ([a-z-]+)", unit.read_text(encoding="utf-8")))
    assert commands == {"db-upgrade", "worker", "backup"}
    for command in sorted(commands):
        done = subprocess.run(
            [sys.executable, "-m", "webapp.cli", command, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr


def test_gunicorn_settings_load_the_app(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHITONGCHE_")}
    env |= {
        "ZHITONGCHE_DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}",
        "ZHITONGCHE_SECRET_KEY": "x",
        "ZHITONGCHE_WEB_WORKERS": "3",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "deploy/gunicorn.conf.py",
            "--check-config",
            "--print-config",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"^workers\s*=\s*3$", done.stdout, re.M) and re.search(r"^threads\s*=\s*4$", done.stdout, re.M)
