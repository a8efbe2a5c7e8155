"""The CLI as a user of kubectl, gh or cargo judges it: help for every option, --json on
every command that changes or reports something, one meaning per flag, one --since default,
quiet on a closed pipe, clear refusals, shell completions."""

import json
import re
import subprocess
from pathlib import Path

from conftest import SEAM

# Commands that neither change nor report anything a script would parse.
NO_JSON = {
    ("serve",), ("sim",), ("demo",), ("completions",), ("prompt", "diff"), ("store", "export"),
    ("releases",),  # hidden alias of `release list`
}


def run(*args, env=None, stdin=None):
    return subprocess.run([SEAM, *args], capture_output=True, text=True, timeout=30, env=env)


def commands(path=()):
    """Every leaf command, walking `--help`."""
    text = run(*path, "--help").stdout
    section = re.search(r"^Commands:\n(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    if not section:
        yield path, text
        return
    names = [line.split()[0] for line in section.group(1).splitlines() if line.strip()]
    if "[COMMAND]" in text.split("\n\n", 2)[1]:  # `seam calls`, `seam sessions`: runnable groups
        yield path, text
    for name in names:
        if name != "help":
            yield from commands((*path, name))


def options(help_text):
    block = help_text.split("Options:", 1)[1] if "Options:" in help_text else ""
    opts, current = [], None
    for line in block.splitlines():
        m = re.match(r"^\s+(?:-\w, )?(--[\w-]+)(?: <[^>]+>)?(.*)$", line)
        if m:
            current = [m.group(1), m.group(2).strip()]
            opts.append(current)
        elif current is not None and line.strip():
            current[1] += " " + line.strip()
    return opts


def test_every_option_has_help_and_every_reporting_command_has_json():
    missing_help, missing_json, since_defaults = [], [], set()
    for path, text in commands():
        opts = options(text)
        for name, desc in opts:
            if name not in ("--help", "--version") and not desc:
                missing_help.append(f"seam {' '.join(path)} {name}")
            if name == "--since" and path == ("report", "value"):
                # Finance reads a quarter or 90 days, not a day: said in the help, and exclusive
                # with --quarter, so not a clap default.
                assert "90d (the default)" in desc, desc
            elif name == "--since" and path[0] in ("failures", "coverage"):
                # Silent failures compare a week with the week before (issue 29's `--since 7d`):
                # a day of sessions is too few to cluster.
                assert "[default: 7d]" in desc, (path, desc)
            elif name == "--since":
                since_defaults.add(re.search(r"\[default: (\w+)\]", desc).group(1))
        if path not in NO_JSON:
            if "--json" not in [n for n, _ in opts]:
                missing_json.append("seam " + " ".join(path))
    assert not missing_help, missing_help
    assert not missing_json, missing_json
    assert since_defaults == {"24h"}, since_defaults
    # `--limit` means rows; a key's own limits are --key-limit.
    keys_create = run("keys", "create", "--help").stdout
    assert "--key-limit" in keys_create and "--limit " not in keys_create
    assert "--limit" in run("calls", "--help").stdout
    # Releases are one noun: `seam release create|list|approve`.
    assert "list" in run("release", "--help").stdout


def test_a_closed_pipe_ends_quietly(tmp_path: Path):
    for args in (["completions", "bash"], ["--help"]):
        p = subprocess.run(f"'{SEAM}' {' '.join(args)} | head -c 10 >/dev/null; exit ${{PIPESTATUS[0]}}",
                           shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stderr == "", p.stderr
    db = tmp_path / "seam.db"
    assert run("migrate", "--store", str(db)).returncode == 0
    token = json.loads(run("users", "create", "root", "--store", str(db), "--json").stdout)["token"]
    env = {"SEAM_TOKEN": token, "PATH": "/usr/bin:/bin"}
    for _ in range(300):
        assert run("keys", "create", "--tenant", "t", "--store", str(db), env=env).returncode == 0
    p = subprocess.run(f"'{SEAM}' keys list --store '{db}' | head -n 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=30,
                       env=env)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_refusals_say_what_is_wrong(tmp_path: Path):
    db = tmp_path / "seam.db"
    assert run("migrate", "--store", str(db)).returncode == 0
    token = json.loads(run("users", "create", "root", "--store", str(db), "--json").stdout)["token"]
    env = {"SEAM_TOKEN": token, "PATH": "/usr/bin:/bin"}
    dup = run("users", "create", "root", "--store", str(db), env=env)
    assert dup.returncode == 1
    assert "a user named `root` already exists" in dup.stderr
    assert "UNIQUE" not in dup.stderr and "database" not in dup.stderr
    assert run("keys", "create", "--tenant", "t", "--store", str(db), env=env).returncode == 0
    # One key only, so `sk-seam-` names it alone: still refused, it would name any key.
    out = run("keys", "revoke", "sk-seam-", "--store", str(db), env=env)
    assert out.returncode == 1 and "does not name one key" in out.stderr, out.stderr
    listed = json.loads(run("keys", "list", "--store", str(db), "--json", env=env).stdout)
    assert all(k["revoked_ms"] is None for k in listed)
    prefix = listed[0]["prefix"][:12]
    out = run("keys", "revoke", prefix, "--store", str(db), "--json", env=env)
    assert out.returncode == 0, out.stderr


def test_shell_completions():
    for shell, marker in (("bash", "complete -F"), ("zsh", "#compdef seam"), ("fish", "complete -c seam")):
        out = run("completions", shell)
        assert out.returncode == 0 and marker in out.stdout, shell
        assert "key-limit" in out.stdout
