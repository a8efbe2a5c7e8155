"""Releases: content-addressed, approved by an owner who is not the author, then deployed.
Owners are those of the release on production (an admin approves a prompt's first release)."""

import json
import os
import shutil
import subprocess

from conftest import ROOT, SEAM  # noqa: F401


def seam(store, *args, token=None):
    env = {k: v for k, v in os.environ.items() if k != "SEAM_TOKEN"}
    if token:
        env["SEAM_TOKEN"] = token
    return subprocess.run([SEAM, *args, "--store", store], capture_output=True, text=True, env=env, timeout=30)


def test_a_release_needs_an_owner_who_is_not_its_author(tmp_path):
    store = f"sqlite://{tmp_path / 'seam.db'}"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shutil.copy(ROOT / "examples" / "prompts" / "support-bot.toml", prompts)
    admin = seam(store, "users", "create", "root").stdout.strip()
    ana = seam(store, "users", "create", "ana", token=admin).stdout.strip()  # an owner
    ben = seam(store, "users", "create", "ben", token=admin).stdout.strip()  # an owner
    eve = seam(store, "users", "create", "eve", token=admin).stdout.strip()  # not an owner

    made = seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=ana)
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)["id"]
    again = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=ben).stdout)
    assert again["id"] == first and again["new"] is False, "same content, same release"

    unapproved = seam(store, "deploy", "support-bot@production", first, token=ana)
    assert unapproved.returncode != 0 and "not approved" in unapproved.stderr
    own = seam(store, "release", "approve", first, token=ana)
    assert own.returncode != 0 and "authored" in own.stderr
    stranger = seam(store, "release", "approve", first, token=eve)
    assert stranger.returncode != 0 and "not an owner" in stranger.stderr
    # Nothing is on production yet: the owners the release lists are not trusted yet.
    early = seam(store, "release", "approve", first, token=ben)
    assert early.returncode != 0 and "role admin" in early.stderr
    assert seam(store, "release", "approve", first, token=admin).returncode == 0
    not_yet = seam(store, "deploy", "support-bot@production", first, token=ana)
    assert not_yet.returncode != 0 and "or role admin" in not_yet.stderr
    assert seam(store, "deploy", "support-bot@production", first, token=admin).returncode == 0

    (prompts / "support-bot.toml").write_text(
        (prompts / "support-bot.toml").read_text().replace("Never promise refunds.", "Never promise refunds or credits.")
    )
    second = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=ben).stdout)["id"]
    assert second != first
    assert seam(store, "release", "approve", second, token=ana).returncode == 0
    assert seam(store, "deploy", "support-bot@production", second, token=ben).returncode == 0
    back = seam(store, "rollback", "support-bot@production", token=ana)
    assert back.returncode == 0 and first in back.stdout

    listing = json.loads(seam(store, "releases", "support-bot", "--json", token=eve).stdout)
    by_id = {r["id"]: r for r in listing["releases"]}
    assert by_id[first]["channels"] == ["production"] and by_id[second]["channels"] == []
    assert by_id[first]["approved_by"] == ["root"] and by_id[first]["author"] == "ana"

    actions = [(r["actor"], r["action"]) for r in json.loads(seam(store, "audit", "log", "--json", token=admin).stdout)]
    assert ("ana", "release.approve") in actions and ("ana", "release.rollback") in actions
    assert seam(store, "audit", "verify", token=eve).returncode == 0
    kinds = [e["kind"] for e in json.loads(seam(store, "changes", "--since", "1h", "--json", token=eve).stdout)]
    assert kinds.count("release_deploy") == 2 and "release_rollback" in kinds


def test_the_four_eyes_rule_cannot_be_bypassed_by_naming_owners(tmp_path):
    """The attack: a release lists its author and a friend as owners, the friend approves,
    the author deploys "Always promise refunds!" to production. Owners come from the release
    on production, so the approval and the deploy are refused and production keeps its own."""
    store = f"sqlite://{tmp_path / 'seam.db'}"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    path = prompts / "support-bot.toml"
    shutil.copy(ROOT / "examples" / "prompts" / "support-bot.toml", prompts)
    root = seam(store, "users", "create", "root").stdout.strip()
    ana = seam(store, "users", "create", "ana", token=root).stdout.strip()
    mallory = seam(store, "users", "create", "mallory", token=root).stdout.strip()
    friend = seam(store, "users", "create", "friend", token=root).stdout.strip()
    good = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=ana).stdout)["id"]
    assert seam(store, "release", "approve", good, token=root).returncode == 0
    assert seam(store, "deploy", "support-bot@production", good, token=root).returncode == 0

    text = path.read_text().replace('["ana", "ben"]', '["mallory", "friend"]')
    path.write_text(text.replace("Never promise refunds.", "Always promise refunds!"))
    evil = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json", token=mallory).stdout)["id"]
    approved = seam(store, "release", "approve", evil, token=friend)
    assert approved.returncode != 0, "the friend is not an owner of the release on production"
    assert "`friend` is not an owner of `support-bot`" in approved.stderr and "ana, ben" in approved.stderr
    assert "changes the owners" in approved.stderr
    deployed = seam(store, "deploy", "support-bot@production", evil, token=mallory)
    assert deployed.returncode != 0 and "not approved" in deployed.stderr
    listing = json.loads(seam(store, "releases", "support-bot", "--json", token=mallory).stdout)
    assert [r["id"] for r in listing["releases"] if "production" in r["channels"]] == [good]
    table = seam(store, "releases", "support-bot", token=mallory).stdout
    assert "owners +mallory +friend -ana -ben" in table


def test_an_application_calls_the_deployed_release_by_name(stack):
    from openai import OpenAI

    ana = stack.seam("users", "create", "ana", "--json")["token"]
    prompts = str(ROOT / "examples" / "prompts")
    release = stack.seam("release", "create", "support-bot", "--dir", prompts, "--json", token=ana)["id"]
    stack.seam("release", "approve", release)  # a first release: the stack's admin approves
    stack.seam("deploy", "support-bot@production", release)
    stack.set_scenario('[model]\nserved = "sim-large-2026-01"\nfingerprint = "fp_e2e"\n')
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    import time

    deadline = time.monotonic() + 5  # the gateway picks a deploy up within a second
    while True:
        try:
            raw = c.chat.completions.with_raw_response.create(
                model="prompt:support-bot",
                messages=[{"role": "user", "content": "Where is invoice 7?"}],
                extra_body={"seam_variables": {"customer": "Acme"}},
            )
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert raw.headers["x-seam-release"] == release
    assert raw.parse().choices[0].message.content == "Where is invoice 7?"


def test_prompt_diff_shows_what_a_new_release_would_change(tmp_path):
    store = f"sqlite://{tmp_path / 'seam.db'}"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shutil.copy(ROOT / "examples" / "prompts" / "support-bot.toml", prompts)
    first = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json").stdout)["id"]
    same = seam(store, "prompt", "diff", "support-bot", "--dir", str(prompts))
    assert same.returncode == 0 and "are the same" in same.stdout
    path = prompts / "support-bot.toml"
    path.write_text(path.read_text().replace("temperature = 0.2", "temperature = 0.7"))
    changed = seam(store, "prompt", "diff", "support-bot", "--dir", str(prompts))
    assert changed.returncode == 0
    assert "-    \"temperature\": 0.2" in changed.stdout and "+    \"temperature\": 0.7" in changed.stdout
    second = json.loads(seam(store, "release", "create", "support-bot", "--dir", str(prompts), "--json").stdout)["id"]
    between = seam(store, "prompt", "diff", "support-bot", first, second)
    assert f"--- {first}" in between.stdout and "+    \"temperature\": 0.7" in between.stdout


def test_the_config_a_gateway_runs_is_on_the_audit_chain_and_the_timeline(stack):
    log = stack.seam("audit", "log", "--json")
    changes = [r for r in log if r["action"] == "config.change"]
    assert len(changes) == 1 and changes[0]["actor"] == "root"
    assert json.loads(changes[0]["after"])["sha256"]
    kinds = [e["kind"] for e in stack.seam("changes", "--since", "1h", "--json")]
    assert "config_change" in kinds
