import pkgutil
import subprocess
import sys
from pathlib import Path

import engine


def test_engine_runs_without_the_web_layer():
    modules = [f"engine.{m.name}" for m in pkgutil.iter_modules([str(Path(engine.__file__).parent)])]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'flask_', 'webapp')))\n"
        "assert not bad, bad\nprint(len(sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(engine.__file__).parent.parent
    )
    assert result.returncode == 0, result.stderr
    assert len(modules) >= 10
