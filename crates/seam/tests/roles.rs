//! Roles through the `seam` CLI on a SQLite file: what each role reads and changes, and that
//! a refusal names the role it needs.

use serde_json::Value;
use std::process::{Command, Output};

struct Cli {
    store: String,
    _dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}", dir.path().join("seam.db").display());
        Cli { store, _dir: dir }
    }

    /// Runs `seam ARGS --store URL` as the user `token` belongs to (none: no SEAM_TOKEN).
    fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        cmd.args(args)
            .args(["--store", &self.store])
            .env_remove("SEAM_TOKEN")
            .env_remove("SEAM_STORE");
        if let Some(t) = token {
            cmd.env("SEAM_TOKEN", t);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, token: Option<&str>, args: &[&str]) -> String {
        let out = self.run(token, args);
        assert!(
            out.status.success(),
            "seam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, token: Option<&str>, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(token, args)).unwrap()
    }

    /// The command fails, and says `want`.
    fn refused(&self, token: Option<&str>, args: &[&str], want: &str) {
        let out = self.run(token, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "seam {args:?} should be refused");
        assert!(err.contains(want), "seam {args:?}: {err}");
    }

    fn user(&self, admin: &str, args: &[&str]) -> String {
        let mut all = vec!["users", "create"];
        all.extend_from_slice(args);
        all.push("--json");
        self.json(Some(admin), &all)["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Calls of tenants `a` and `b` in one trace, recorded a minute ago.
async fn record_calls(store: &str) {
    use seam_store::Records;
    let s = seam_store::open(store).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let calls = vec![
        seam_store::conformance::sample_call("call_of_a", now - 60_000, "a"),
        seam_store::conformance::sample_call("call_of_b", now - 59_000, "b"),
    ];
    let attempts: Vec<_> = calls
        .iter()
        .map(|c| seam_store::conformance::sample_attempt(c, 1, true))
        .collect();
    s.insert_records(&calls, &attempts, &[]).await.unwrap();
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[key].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_viewer_reads_only_their_tenants_records() {
    let cli = Cli::new();
    let root = cli
        .ok(None, &["users", "create", "root"])
        .trim()
        .to_string();
    let vera = cli.user(&root, &["vera", "--role", "viewer", "--tenant", "a"]);
    let nora = cli.user(&root, &["nora"]);
    record_calls(&cli.store).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";

    let all = cli.json(Some(&root), &["calls", "--json"]);
    assert_eq!(
        ids(&all, "tenant"),
        ["a", "b"],
        "an admin reads every tenant"
    );
    let mine = cli.json(Some(&vera), &["calls", "--json"]);
    assert_eq!(ids(&mine, "tenant"), ["a"]);
    cli.refused(
        Some(&vera),
        &["calls", "--tenant", "b"],
        "reading calls of tenant `b` needs role viewer or operator of `b`, or admin; `vera` has viewer of a",
    );
    cli.refused(
        Some(&vera),
        &["calls", "show", "call_of_b"],
        "needs role viewer or operator of `b`, or admin",
    );
    cli.ok(Some(&vera), &["calls", "show", "call_of_a"]);

    let tree = cli.json(Some(&vera), &["traces", "show", trace, "--json"]);
    let in_trace: Vec<&str> = tree["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        in_trace,
        ["call_of_a"],
        "the trace, as far as vera may see it"
    );
    assert!(
        !cli.ok(Some(&vera), &["traces", "show", trace])
            .contains("call_of_b")
    );

    let usage = cli.json(
        Some(&vera),
        &["report", "usage", "--by", "tenant", "--json"],
    );
    assert_eq!(ids(&usage, "key"), ["a"]);
    let by_route = cli.json(Some(&vera), &["report", "usage", "--by", "route", "--json"]);
    assert_eq!(
        by_route[0]["calls"], 1,
        "route totals count her tenant's calls only"
    );
    let reliability = cli.json(Some(&vera), &["report", "reliability", "--json"]);
    assert_eq!(reliability["routes"][0]["calls_dispatched"], 1);
    let all = cli.json(Some(&root), &["report", "reliability", "--json"]);
    assert_eq!(all["routes"][0]["calls_dispatched"], 2);

    cli.refused(
        Some(&nora),
        &["calls"],
        "reading calls needs role viewer or operator of a tenant, or admin; `nora` has no role",
    );
    // Whose a trace is, or whether it exists, is not told to someone who cannot read it.
    cli.refused(
        Some(&nora),
        &["traces", "show", trace],
        "no calls you can read are recorded for trace",
    );
    for args in [
        &["report", "usage"][..],
        &["report", "reliability"],
        &["report", "streams"],
        &["sessions"],
        &["keys", "list"],
    ] {
        cli.refused(Some(&nora), args, "needs role viewer or operator of");
    }
    cli.refused(Some(&vera), &["store", "export"], "needs role admin");
    cli.refused(None, &["calls"], "set SEAM_TOKEN");
}

#[tokio::test]
async fn an_operator_manages_only_their_tenants_keys() {
    let cli = Cli::new();
    let root = cli
        .ok(None, &["users", "create", "root"])
        .trim()
        .to_string();
    let otto = cli.user(&root, &["otto", "--role", "operator", "--tenant", "a"]);
    let vera = cli.user(&root, &["vera", "--role", "viewer", "--tenant", "a"]);

    let a_key = cli.json(Some(&otto), &["keys", "create", "--tenant", "a", "--json"]);
    cli.refused(
        Some(&otto),
        &["keys", "create", "--tenant", "b"],
        "creating keys of tenant `b` needs role operator of `b`, or admin; `otto` has operator of a",
    );
    cli.refused(
        Some(&vera),
        &[
            "keys",
            "create",
            "--tenant",
            "a",
            "--key-limit",
            "requests_per_minute=5",
        ],
        "needs role operator of `a`, or admin; `vera` has viewer of a",
    );
    let b_key = cli.json(Some(&root), &["keys", "create", "--tenant", "b", "--json"]);
    let b_id = b_key["id"].as_str().unwrap();
    cli.refused(
        Some(&otto),
        &["keys", "revoke", b_id],
        &format!("revoking key {b_id} of tenant `b` needs role operator of `b`"),
    );
    let listed = cli.json(Some(&otto), &["keys", "list", "--json"]);
    assert_eq!(ids(&listed, "tenant"), ["a"]);
    let listed = cli.json(Some(&vera), &["keys", "list", "--json"]);
    assert_eq!(
        ids(&listed, "tenant"),
        ["a"],
        "a viewer sees her tenant's keys"
    );
    let out = cli.ok(
        Some(&otto),
        &["keys", "revoke", a_key["id"].as_str().unwrap()],
    );
    assert!(out.contains("revoked"), "{out}");

    // Roles are granted by an admin only; then otto manages b's keys too.
    cli.refused(
        Some(&otto),
        &[
            "users", "grant", "otto", "--role", "operator", "--tenant", "b",
        ],
        "granting roles needs role admin",
    );
    cli.ok(
        Some(&root),
        &[
            "users", "grant", "otto", "--role", "operator", "--tenant", "b",
        ],
    );
    cli.ok(Some(&otto), &["keys", "revoke", b_id]);

    let users = cli.json(Some(&root), &["users", "list", "--json"]);
    cli.refused(
        Some(&vera),
        &["users", "list"],
        "listing users needs role admin",
    );
    let otto_roles = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "otto")
        .unwrap()["roles"]
        .clone();
    assert_eq!(
        otto_roles,
        serde_json::json!([{"role": "operator", "tenant": "a"}, {"role": "operator", "tenant": "b"}])
    );
    let table = cli.ok(Some(&root), &["users", "list"]);
    assert!(table.contains("operator of a, b"), "{table}");
    let audit: Vec<(String, String)> = cli
        .json(Some(&root), &["audit", "log", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        audit.contains(&("root".into(), "user.grant".into())),
        "{audit:?}"
    );
    assert!(
        audit.contains(&("otto".into(), "key.revoke".into())),
        "{audit:?}"
    );
}

#[test]
fn users_and_roles_are_checked_when_made() {
    let cli = Cli::new();
    let root = cli
        .ok(None, &["users", "create", "root"])
        .trim()
        .to_string();
    for name in ["admin", "bootstrap", "operator"] {
        cli.refused(Some(&root), &["users", "create", name], "is reserved");
    }
    cli.refused(
        Some(&root),
        &["users", "create", "x", "--role", "operator"],
        "name at least one with --tenant",
    );
    cli.refused(
        Some(&root),
        &["users", "create", "x", "--role", "admin", "--tenant", "a"],
        "admin is not scoped to tenants",
    );
    cli.refused(
        Some(&root),
        &["users", "create", "x", "--role", "owner", "--tenant", "a"],
        "role `owner`: use admin, operator",
    );
    let ben = cli.user(&root, &["ben", "--role", "viewer", "--tenant", "a"]);
    cli.refused(
        Some(&ben),
        &["users", "create", "carl"],
        "creating users needs role admin",
    );
    cli.ok(Some(&root), &["users", "grant", "ben", "--role", "admin"]);
    cli.user(&ben, &["carl"]);
    cli.refused(None, &["users", "list"], "set SEAM_TOKEN");
}
