"""The Dockerfile: the image builds, serves as a non-root user, and keeps its store on the volume.

Needs a Docker engine; where `docker info` fails (no engine, no permission) the test is
skipped and says so. The release build inside the image takes several minutes.
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from openai import AuthenticationError, OpenAI

ROOT = Path(__file__).resolve().parents[2]
NAME = f"seam-e2e-{os.getpid()}"
IMAGE = "seam-e2e:latest"


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert out.returncode == 0, f"docker {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


@pytest.fixture(scope="module")
def image():
    if shutil.which("docker") is None:
        pytest.skip("no docker command: the Dockerfile is not built here")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no reason given"])[-1]
        pytest.skip(f"no Docker engine (`docker info` failed: {reason}): the Dockerfile is not built here")
    docker("build", "--tag", IMAGE, str(ROOT), timeout=3600)
    return IMAGE


def start(image: str, volume: str) -> str:
    """Starts a container on the volume; returns its base URL once /healthz answers."""
    docker("run", "--detach", "--name", NAME, "--publish", "127.0.0.1::4000", "--volume", f"{volume}:/data", image)
    port = docker("port", NAME, "4000/tcp").splitlines()[0].rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                if r.status == 200:
                    return url
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the container did not become healthy: {docker('logs', NAME, check=False)}")
        time.sleep(0.2)


def chat(url: str, key: str) -> str:
    c = OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10)
    # A key created by the CLI reaches the running gateway with its next key refresh (1 s).
    deadline = time.monotonic() + 5
    while True:
        try:
            r = c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello from docker"}])
            return r.choices[0].message.content
        except AuthenticationError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_image_serves_as_a_non_root_user_with_its_store_on_the_volume(image):
    volume = docker("volume", "create", NAME)
    try:
        url = start(image, volume)
        assert docker("exec", NAME, "id", "-u") != "0", "the gateway does not run as root"
        # The image's working directory holds the config: CLI commands need no --config.
        key = json.loads(docker("exec", NAME, "seam", "keys", "create", "--tenant", "docker", "--json"))["key"]
        assert chat(url, key) == "hello from docker"
        assert "seam.db" in docker("exec", NAME, "ls", "/data").split()
        # A new container on the same volume has the same store: the key still works.
        docker("stop", "--time", "40", NAME, timeout=60)
        logs = subprocess.run(["docker", "logs", NAME], capture_output=True, text=True, timeout=60)
        assert "records flushed" in logs.stdout + logs.stderr, "SIGTERM stops it cleanly"
        docker("rm", NAME)
        url = start(image, volume)
        assert chat(url, key) == "hello from docker"
        # Both calls are recorded (the second once the batch writer has flushed it).
        deadline = time.monotonic() + 10
        while len(calls := json.loads(docker("exec", NAME, "seam", "calls", "--json"))) < 2:
            assert time.monotonic() < deadline, calls
            time.sleep(0.2)
        assert len(calls) == 2, calls
    finally:
        docker("rm", "--force", NAME, check=False)
        docker("volume", "rm", "--force", volume, check=False)
