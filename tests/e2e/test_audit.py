"""Control-plane identity and the audit chain, through the CLI on a real SQLite file."""

import json
import os
import sqlite3
import subprocess

from conftest import SEAM


def seam(store, *args, token=None):
    env = {k: v for k, v in os.environ.items() if k != "SEAM_TOKEN"}
    if token:
        env["SEAM_TOKEN"] = token
    return subprocess.run([SEAM, *args, "--store", store], capture_output=True, text=True, env=env, timeout=30)


def test_actions_are_signed_chained_and_tampering_is_caught(tmp_path):
    db = tmp_path / "seam.db"
    store = f"sqlite://{db}"
    ana = seam(store, "users", "create", "ana")
    assert ana.returncode == 0, ana.stderr
    ana_token = ana.stdout.strip()
    assert ana_token.startswith("seam-user-")

    no_token = seam(store, "keys", "create", "--tenant", "t")
    assert no_token.returncode != 0 and "SEAM_TOKEN" in no_token.stderr
    assert seam(store, "keys", "create", "--tenant", "t", token=ana_token).returncode == 0
    ben = seam(store, "users", "create", "ben", token=ana_token)
    assert ben.returncode == 0, ben.stderr
    not_admin = seam(store, "users", "create", "carl", token=ben.stdout.strip())
    assert not_admin.returncode != 0 and "admin" in not_admin.stderr



    log = json.loads(seam(store, "audit", "log", "--json").stdout)
    assert [(r["actor"], r["action"]) for r in log] == [
        ("bootstrap", "user.create"),
        ("ana", "key.create"),
        ("ana", "user.create"),
    ]
    assert ana_token not in json.dumps(log), "a token never reaches the audit log"
    ok = seam(store, "audit", "verify")
    assert ok.returncode == 0 and "3 records" in ok.stdout

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET subject = 'key_forged' WHERE seq = 2")
    bad = seam(store, "audit", "verify")
    assert bad.returncode != 0
    assert "audit record 2" in bad.stderr
