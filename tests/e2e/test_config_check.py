"""`seam config check`, `SEAM_CONFIG` and the log formats, as an operator uses them."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, SEAM, free_port, wait_healthy


def seam(*args, env=None, cwd=None):
    return subprocess.run(
        [SEAM, *args], capture_output=True, text=True, timeout=30, env=env, cwd=cwd
    )


def example(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "examples" / "seam.toml", tmp_path / "seam.toml")
    shutil.copytree(ROOT / "examples" / "prompts", tmp_path / "prompts")
    return tmp_path / "seam.toml"


def test_the_example_config_checks_clean_and_nothing_is_written(tmp_path: Path):
    config = example(tmp_path)
    out = seam("config", "check", "--config", str(config), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert report["routes"] == ["chat", "embed"]
    assert report["prompts"]["prompts"] == 1
    # No store was created, nothing listened.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts", "seam.toml"]


def test_every_problem_is_named_with_its_key(tmp_path: Path):
    config = tmp_path / "seam.toml"
    config.write_text(
        """
[server]
listen = "127.0.0.1:4000"
[[providers]]
name = "up"
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
api_key_env = "SEAM_TEST_UNSET_KEY_FOR_CHECK"
[[routes]]
name = "chat"
targets = [{ provider = "nowhere", model = "m" }]
"""
    )
    env = {k: v for k, v in os.environ.items() if k != "SEAM_TEST_UNSET_KEY_FOR_CHECK"}
    out = seam("config", "check", "--config", str(config), "--json", env=env)
    assert out.returncode == 1
    problems = " ".join(json.loads(out.stdout)["problems"])
    assert "nowhere" in problems
    assert "SEAM_TEST_UNSET_KEY_FOR_CHECK" in problems
    # Without the secret requirement only the route is wrong.
    out = seam("config", "check", "--config", str(config), "--skip-secrets", "--json", env=env)
    assert out.returncode == 1
    problems = json.loads(out.stdout)["problems"]
    assert not any("SEAM_TEST_UNSET_KEY_FOR_CHECK" in p for p in problems), problems


def test_a_prompt_error_fails_the_check(tmp_path: Path):
    config = example(tmp_path)
    prompt = tmp_path / "prompts" / "support-bot.toml"
    prompt.write_text(prompt.read_text().replace('route = "chat"', 'route = "gone"'))
    out = seam("config", "check", "--config", str(config))
    assert out.returncode == 1
    assert "route `gone` is not in the config" in out.stdout


def test_seam_config_names_the_config_for_every_command(tmp_path: Path):
    config = example(tmp_path)
    env = dict(os.environ, SEAM_CONFIG=str(config))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = seam("config", "check", env=env, cwd=elsewhere)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{config}: config valid" in out.stdout
    out = seam("prompt", "lint", env=env, cwd=elsewhere)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 prompt files" in out.stdout


def test_logs_are_plain_text_off_a_terminal_and_json_when_asked(tmp_path: Path):
    for fmt in ("text", "json"):
        port = free_port()
        env = dict(os.environ, SEAM_LOG_FORMAT=fmt)
        proc = subprocess.Popen(
            [SEAM, "sim", "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines, "the sim logged nothing"
        assert not any("\x1b[" in line for line in lines), lines
        if fmt == "json":
            for line in lines:
                obj = json.loads(line)
                assert "level" in obj and "timestamp" in obj
