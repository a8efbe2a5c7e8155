"""Where the store is: relative SQLite paths follow the config file, reads never create an
empty store, and `--store` takes a plain path."""

import os
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, SEAM


def seam(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("SEAM_CONFIG", "SEAM_STORE")}
    return subprocess.run(
        [SEAM, *args], capture_output=True, text=True, timeout=30, cwd=cwd, env=env
    )


def test_a_relative_store_follows_the_config_file_from_any_directory(tmp_path: Path):
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(ROOT / "examples" / "seam.toml", etc / "seam.toml")  # url = "sqlite://seam.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = seam("keys", "create", "--tenant", "t1", "--config", str(etc / "seam.toml"), cwd=elsewhere)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (etc / "seam.db").exists()
    assert not (elsewhere / "seam.db").exists()
    listed = seam("keys", "list", "--config", "etc/seam.toml", cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "t1" in listed.stdout


def test_a_read_refuses_a_store_that_does_not_exist(tmp_path: Path):
    shutil.copy(ROOT / "examples" / "seam.toml", tmp_path / "seam.toml")
    out = seam("keys", "list", "--config", str(tmp_path / "seam.toml"))
    assert out.returncode == 1
    assert f"no store at {tmp_path / 'seam.db'}" in out.stderr
    assert "`seam serve` or `seam migrate` creates it" in out.stderr
    assert not (tmp_path / "seam.db").exists()
    out = seam("calls", "--store", str(tmp_path / "other.db"))
    assert out.returncode == 1 and "no store at" in out.stderr
    assert not (tmp_path / "other.db").exists()


def test_store_takes_a_plain_path_and_a_missing_directory_is_named(tmp_path: Path):
    db = tmp_path / "seam.db"
    out = seam("migrate", "--store", str(db))
    assert out.returncode == 0, out.stdout + out.stderr
    assert db.exists()
    out = seam("calls", "--store", str(db), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    missing = tmp_path / "no-such-dir" / "seam.db"
    out = seam("migrate", "--store", str(missing))
    assert out.returncode == 1
    assert f"no directory {tmp_path / 'no-such-dir'}" in out.stderr
