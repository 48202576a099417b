"""The board's rules that need no browser (tasktrek/web/state.js, api.js's readableError),
under Node's own test runner."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

TEST = Path(__file__).resolve().parent.parent / "js" / "board" / "rules.test.mjs"


def test_board_rules():
    node = shutil.which("node")
    assert node, "node is not installed: the board's script tests need Node.js 18+"
    run = subprocess.run([node, "--test", str(TEST)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    passed = re.search(r"^# pass (\d+)$", run.stdout, re.M)
    assert passed and int(passed.group(1)) > 0 and "\n# fail 0\n" in run.stdout, run.stdout
