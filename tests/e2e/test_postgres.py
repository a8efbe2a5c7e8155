"""PostgreSQL as the store of a real `seam serve`: explicit migration, then records that
`seam store export` reads back. PostgreSQL must run at 127.0.0.1:5432 (SEAM_TEST_POSTGRES
to change); this fails, never skips, when it does not."""

import json
import os
import subprocess
import time
import urllib.parse

from conftest import SEAM, free_port, wait_healthy

BASE = os.environ.get("SEAM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


def psql(sql):
    out = subprocess.run(["psql", BASE, "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"PostgreSQL at {BASE}: {out.stderr}"


def test_serve_on_postgres_needs_migrate_then_records_export(tmp_path):
    schema = f"seam_e2e_{os.getpid()}"
    psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    sep = "&" if "?" in BASE else "?"
    url = f"{BASE}{sep}options=" + urllib.parse.quote(f"-c search_path={schema}")
    sim_port, gw_port = free_port(), free_port()
    config = tmp_path / "seam.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{gw_port}"
[store]
url_env = "SEAM_E2E_DATABASE_URL"
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:{sim_port}/v1"
[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
""")
    env = {**os.environ, "SEAM_E2E_DATABASE_URL": url, "SEAM_LOG": "warn"}
    env.pop("SEAM_TOKEN", None)
    run = lambda *a: subprocess.run([SEAM, *a, "--config", str(config)], env=env, capture_output=True, text=True, timeout=60)
    procs = []
    try:
        refused = run("serve")
        assert refused.returncode != 0 and "run `seam migrate` first" in refused.stderr, refused.stderr
        first = run("migrate", "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["from"] == 0
        again = json.loads(run("migrate", "--json").stdout)
        assert again["from"] == again["to"], "migrate is idempotent"

        made = run("keys", "create", "--tenant", "pg", "--json")
        assert made.returncode == 0, made.stderr
        procs.append(subprocess.Popen([SEAM, "sim", "--listen", f"127.0.0.1:{sim_port}"], env=env, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([SEAM, "serve", "--config", str(config)], env=env, stderr=subprocess.DEVNULL))
        wait_healthy(f"http://127.0.0.1:{gw_port}/healthz", procs[-1])
        from openai import OpenAI

        c = OpenAI(base_url=f"http://127.0.0.1:{gw_port}/v1", api_key=json.loads(made.stdout)["key"], max_retries=0, timeout=10)
        for _ in range(3):
            c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "on postgres"}])
        deadline = time.monotonic() + 5
        while True:
            out = run("store", "export", "--since", "1h")
            lines = [json.loads(l) for l in out.stdout.splitlines()]
            calls = [l for l in lines if l["type"] == "call"]
            if len(calls) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(calls) == 3 and all(c["tenant"] == "pg" for c in calls), out.stderr
        assert len([l for l in lines if l["type"] == "attempt"]) == 3
        assert "exported 3 calls" in out.stderr
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=15)
        psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
