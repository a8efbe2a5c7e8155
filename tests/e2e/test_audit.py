"""Control-plane identity and the audit chain, through the CLI on a real SQLite file."""

import hashlib
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

from conftest import ROOT, SEAM, free_port, wait_healthy


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



    log = json.loads(seam(store, "audit", "log", "--json", token=ana_token).stdout)
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


KEY = "e2e-audit-key-0123456789abcdef0123456789"


def keyed(store, *args, token=None, key=KEY):
    """`seam ... --store` with SEAM_AUDIT_KEY set (or another key, or none)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SEAM_TOKEN", "SEAM_AUDIT_KEY")}
    if token:
        env["SEAM_TOKEN"] = token
    if key:
        env["SEAM_AUDIT_KEY"] = key
    out = subprocess.run([SEAM, *args, "--store", store], capture_output=True, text=True, env=env, timeout=30)
    assert KEY not in out.stdout + out.stderr, "the audit key is never shown"
    return out


def rewrite_unkeyed(db, start):
    """What someone who can write the database, but has no key, can do: change record `start`
    and recompute every hash from there on as an unkeyed (SHA-256) chain."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT seq, created_ms, actor, action, subject, before, after, prev_hash FROM audit ORDER BY seq"
        ).fetchall()
        prev = "0" * 64 if start == 1 else conn.execute("SELECT hash FROM audit WHERE seq = ?", (start - 1,)).fetchone()[0]
        for seq, created_ms, actor, action, subject, before, after, _ in rows[start - 1:]:
            if seq == start:
                subject = "forged"
            content = {"seq": seq, "created_ms": created_ms, "actor": actor, "action": action,
                       "subject": subject, "before": before, "after": after, "prev_hash": prev}
            digest = hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()
            conn.execute(
                "UPDATE audit SET subject = ?, prev_hash = ?, hash = ?, key_id = NULL WHERE seq = ?",
                (subject, prev, digest, seq),
            )
            prev = digest


def test_an_unkeyed_chain_rewritten_from_a_record_on_still_verifies(tmp_path):
    """What the unkeyed chain cannot show, and why SEAM_AUDIT_KEY exists."""
    db = tmp_path / "seam.db"
    store = f"sqlite://{db}"
    ana = keyed(store, "users", "create", "ana", key=None).stdout.strip()
    assert keyed(store, "users", "create", "ben", token=ana, key=None).returncode == 0
    rewrite_unkeyed(db, 2)
    ok = keyed(store, "audit", "verify", key=None)
    assert ok.returncode == 0 and "unkeyed (SHA-256)" in ok.stdout


def test_a_keyed_chain_rewritten_without_the_key_is_caught(tmp_path):
    db = tmp_path / "seam.db"
    store = f"sqlite://{db}"
    ana = keyed(store, "users", "create", "ana").stdout.strip()
    assert keyed(store, "keys", "create", "--tenant", "t", token=ana).returncode == 0
    assert keyed(store, "users", "create", "ben", token=ana).returncode == 0
    log = json.loads(keyed(store, "audit", "log", "--json", token=ana).stdout)
    assert len(log) == 3 and all(r["key_id"] for r in log), "a new store is signed from its first record"
    ok = keyed(store, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "3 records, every record signed with SEAM_AUDIT_KEY" in ok.stdout

    missing = keyed(store, "audit", "verify", key=None)
    assert missing.returncode != 0
    assert "records from 1 on are keyed: set SEAM_AUDIT_KEY to verify them" in missing.stderr
    wrong = keyed(store, "audit", "verify", key="another-key-" + "y" * 30)
    assert wrong.returncode != 0 and "SEAM_AUDIT_KEY is not the key the audit chain is signed with" in wrong.stderr
    short = keyed(store, "audit", "verify", key="short")
    assert short.returncode != 0 and "SEAM_AUDIT_KEY is too short" in short.stderr
    unsigned = keyed(store, "keys", "create", "--tenant", "t", token=ana, key=None)
    assert unsigned.returncode != 0 and "the audit chain is keyed" in unsigned.stderr
    assert len(json.loads(keyed(store, "keys", "list", "--json", token=ana).stdout)) == 1, "refused before acting"

    rewrite_unkeyed(db, 2)
    bad = keyed(store, "audit", "verify", "--json")
    assert bad.returncode != 0
    verdict = json.loads(bad.stdout)
    assert verdict["intact"] is False and verdict["problems"][0]["record"] == 2
    assert "the chain is keyed from record 1" in verdict["problems"][0]["reason"]
    rewrite_unkeyed(db, 1)
    bad = keyed(store, "audit", "verify")
    assert bad.returncode != 0
    assert "audit record 1: records 1-3 are not keyed, though SEAM_AUDIT_KEY is set" in bad.stderr
    refused = keyed(store, "keys", "create", "--tenant", "t", token=ana)
    assert refused.returncode != 0 and "is not keyed" in refused.stderr, "not signed again on top"


def test_an_old_chain_moves_to_keyed_with_seam_audit_key(tmp_path):
    store = f"sqlite://{tmp_path / 'seam.db'}"
    ana = keyed(store, "users", "create", "ana", key=None).stdout.strip()
    not_yet = keyed(store, "keys", "create", "--tenant", "t", token=ana)
    assert not_yet.returncode != 0 and "start keying it with `seam audit key`" in not_yet.stderr
    started = keyed(store, "audit", "key", "--json", token=ana)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["keyed_from"] == 2
    assert keyed(store, "keys", "create", "--tenant", "t", token=ana).returncode == 0
    ok = keyed(store, "audit", "verify")
    assert ok.returncode == 0 and "3 records, signed with SEAM_AUDIT_KEY from record 2" in ok.stdout


def test_deleting_the_newest_records_is_caught_by_a_head(tmp_path):
    db = tmp_path / "seam.db"
    store = f"sqlite://{db}"
    ana = keyed(store, "users", "create", "ana").stdout.strip()
    for tenant in ("a", "b", "c", "d"):
        assert keyed(store, "keys", "create", "--tenant", tenant, token=ana).returncode == 0
    head = keyed(store, "audit", "head").stdout.strip()
    assert head.startswith("5:")
    assert json.loads(keyed(store, "audit", "head", "--json").stdout) == {"count": 5, "head": head[2:]}
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq > 3")
    assert keyed(store, "audit", "verify").returncode == 0, "a chain cut short verifies on its own"
    cut = keyed(store, "audit", "verify", "--head", head)
    assert cut.returncode != 0
    assert "the chain has 3 records, fewer than the 5 of this head: records 4-5 were deleted" in cut.stderr
    bad = keyed(store, "audit", "verify", "--head", "5:nothex")
    assert bad.returncode != 0 and "is not a head: write COUNT:HASH" in bad.stderr


def test_approvals_and_deploys_changed_outside_seam_are_caught(tmp_path):
    db = tmp_path / "seam.db"
    store = f"sqlite://{db}"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shutil.copy(ROOT / "examples" / "prompts" / "support-bot.toml", prompts)
    admin = seam(store, "users", "create", "root").stdout.strip()
    ana = seam(store, "users", "create", "ana", token=admin).stdout.strip()
    ben = seam(store, "users", "create", "ben", token=admin).stdout.strip()
    made = seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=ana)
    release = json.loads(made.stdout)["id"]
    # A prompt's first release: an admin approves it (no owners on production yet) and deploys it.
    assert seam(store, "release", "approve", release, "--yes", token=admin).returncode == 0
    assert seam(store, "deploy", "support-bot@production", release, token=admin).returncode == 0
    ok = seam(store, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "releases 1, approvals 1, deploys 1: each matches the record that made it" in ok.stdout

    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO approvals (release_id, approver, created_ms) VALUES (?, 'mallory', 1)", (release,))
        conn.execute("UPDATE deploys SET release_id = 'rel_0000000000000000'")
        conn.execute("UPDATE releases SET content = replace(content, '\"ana\"', '\"mallory\"')")
    bad = seam(store, "audit", "verify")
    assert bad.returncode != 0
    assert "does not verify (3 problems)" in bad.stderr, bad.stderr
    assert f"release {release}: its content does not hash to its id" in bad.stderr
    assert f"approval of {release} by mallory: no audit record approved it" in bad.stderr
    assert "deploy 1 of support-bot@production is a deploy of rel_0000000000000000 by root (drain)" in bad.stderr


def test_serve_refuses_a_keyed_store_without_its_key(tmp_path):
    store = f"sqlite://{tmp_path / 'seam.db'}"
    assert keyed(store, "users", "create", "ana").returncode == 0
    config = tmp_path / "seam.toml"
    config.write_text(f'[server]\nlisten = "127.0.0.1:{free_port()}"\n[store]\nurl = "{store}"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("SEAM_TOKEN", "SEAM_AUDIT_KEY")}
    out = subprocess.run([SEAM, "serve", "--config", str(config)], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "cannot record control-plane actions on this store: the audit chain is keyed" in out.stderr, out.stderr


class Anchors(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        Anchors.received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_serve_anchors_the_head_to_a_file_and_a_url(tmp_path):
    db = tmp_path / "seam.db"
    webhook = http.server.HTTPServer(("127.0.0.1", 0), Anchors)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    port = free_port()
    config = tmp_path / "seam.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{port}"

[store]
url = "sqlite://{db}"

[[providers]]
name = "sim"
kind = "sim"

[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]

[audit]
anchor_file = "heads.jsonl"
anchor_url = "http://127.0.0.1:{webhook.server_port}/anchor"
anchor_interval_secs = 1
""")
    env = {k: v for k, v in os.environ.items() if k not in ("SEAM_TOKEN", "SEAM_AUDIT_KEY")}
    gw = subprocess.Popen([SEAM, "serve", "--config", str(config)], env=env, stderr=subprocess.DEVNULL)
    anchors = tmp_path / "heads.jsonl"
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", gw)
        assert seam(f"sqlite://{db}", "users", "create", "ana").returncode == 0

        def newest():
            lines = anchors.read_text().splitlines() if anchors.exists() else []
            return json.loads(lines[-1]) if lines else {"count": 0}

        deadline = time.monotonic() + 15
        while newest()["count"] < 2 or not any(a["count"] == 2 for a in Anchors.received):
            assert time.monotonic() < deadline, f"no head of 2 records anchored: {newest()}, {Anchors.received}"
            time.sleep(0.1)
    finally:
        gw.terminate()
        gw.wait(timeout=15)
        webhook.shutdown()
    line = newest()
    assert set(line) == {"at", "count", "head"} and line["count"] == 2
    ok = seam(f"sqlite://{db}", "audit", "verify", "--anchor-file", str(anchors))
    assert ok.returncode == 0, ok.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 2")
    cut = seam(f"sqlite://{db}", "audit", "verify", "--anchor-file", str(anchors))
    assert cut.returncode != 0
    assert "heads.jsonl line" in cut.stderr and "record 2 was deleted" in cut.stderr, cut.stderr
