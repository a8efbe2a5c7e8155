"""`seam prompt lint` on prompt files as users write them."""

import json
import subprocess
from pathlib import Path

from conftest import ROOT, SEAM


def lint(*args):
    return subprocess.run([SEAM, "prompt", "lint", *args], capture_output=True, text=True, timeout=30)


def test_the_example_prompt_lints_clean_against_the_example_config():
    out = lint("--config", str(ROOT / "examples" / "seam.toml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 errors" in out.stdout


def test_an_alias_and_an_undeclared_variable_fail_the_lint(tmp_path: Path):
    text = (ROOT / "examples" / "prompts" / "support-bot.toml").read_text()
    bad = text.replace("sim-large-2026-01", "sim-large-latest").replace("{{ customer }}", "{{ client }}")
    (tmp_path / "support-bot.toml").write_text(bad)
    out = lint("--dir", str(tmp_path), "--json")
    assert out.returncode != 0
    report = json.loads(out.stdout)
    keys = {(f["key"], f["severity"]) for f in report["findings"]}
    assert ("model", "error") in keys
    assert ("messages[0].content", "error") in keys
    assert ("variables.customer", "warning") in keys
