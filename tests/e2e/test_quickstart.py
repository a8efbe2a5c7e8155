"""The README's quick start, run as written: its shell steps in a fresh directory (with the
repository's `examples/` beside them, as at the repository's root) and its Python snippet
with the key the steps printed."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SEAM, wait_healthy

SECTION = "## Using Seam with the OpenAI Python SDK"


def blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def test_the_readme_quick_start_works_as_written(tmp_path: Path):
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 4000)) == 0:
            raise AssertionError("port 4000 is taken: the quick start serves there")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "crates").symlink_to(ROOT / "crates")
    env = dict(os.environ, PATH=f"{Path(SEAM).parent}:{os.environ['PATH']}")
    for k in ("SEAM_CONFIG", "SEAM_STORE", "SEAM_TOKEN"):
        env.pop(k, None)
    steps = [shlex.split(line, comments=True) for line in blocks("sh")[0].splitlines()]
    steps = [s for s in steps if s]
    assert steps[0][:2] == ["cargo", "install"], steps[0]  # the test runs the built binary
    key, server = None, None
    try:
        for argv in steps[1:]:
            if argv[:2] == ["seam", "serve"]:
                server = subprocess.Popen(
                    argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                wait_healthy("http://127.0.0.1:4000/healthz", server)
                continue
            out = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, f"{argv}: {out.stdout}{out.stderr}"
            if argv[:3] == ["seam", "keys", "create"]:
                key = re.search(r"sk-seam-[0-9a-f]+", out.stdout).group(0)
        assert key and server, "the steps create a key and start the gateway"
        snippet = blocks("python")[0]
        assert '"sk-seam-..."' in snippet
        run = subprocess.run(
            [sys.executable, "-c", snippet.replace('"sk-seam-..."', repr(key))],
            capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip(), "the snippet prints the answer"
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
    assert (tmp_path / "seam.db").exists()
