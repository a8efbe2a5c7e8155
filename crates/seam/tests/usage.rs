//! `seam usage import|export` on a SQLite file: a good file, a file with bad rows (named by
//! line, nothing imported), a re-import (idempotent) and an export that imports back.

mod support;

use support::Store;

const HISTORY: &str = "timestamp,tenant,route,key,input_tokens,output_tokens,cost,calls\n\
    2025-12-01 09:15,acme,chat,key_a,100,50,0.25,2\n\
    2025-12-01T09:45:00Z,acme,chat,key_a,10,5,0.5,1\n\
    2025-12-01 10:00,acme,\"chat, long\",,7,3,1.5,\n\
    2025-12-02T00:00:00+01:00,beta,embed,,1000,0,0.02,4\n";

const WINDOW: [&str; 4] = ["--since", "2025-11-01", "--until", "2026-01-01"];

fn file(store: &Store, name: &str, text: &str) -> String {
    let path = store.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn keys(store: &Store, tenants: &[&str]) {
    for t in tenants {
        store.ok(&["keys", "create", "--tenant", t, "--json"]);
    }
}

fn export(store: &Store, extra: &[&str]) -> String {
    let mut args = vec!["usage", "export"];
    args.extend_from_slice(&WINDOW);
    args.extend_from_slice(extra);
    store.ok(&args)
}

#[tokio::test]
async fn a_good_file_imports_and_exports_back_as_it_was_read() {
    let store = Store::new().await;
    keys(&store, &["acme", "beta"]);
    let path = file(&store, "history.csv", HISTORY);
    let summary = store.json(&["usage", "import", &path, "--json"]);
    assert_eq!(summary["rows"], 4);
    assert_eq!(
        summary["stored"], 3,
        "two rows of one hour and key are summed"
    );
    assert_eq!(summary["hours"], 3);
    assert_eq!(summary["tenants"], serde_json::json!(["acme", "beta"]));
    assert_eq!(summary["from"], "2025-12-01T09:00:00Z");
    assert_eq!(
        summary["until"], "2025-12-02T00:00:00Z",
        "+01:00 is read as UTC 23:00"
    );

    let csv = export(&store, &[]);
    assert_eq!(
        csv,
        "timestamp,tenant,route,key,input_tokens,output_tokens,cost,calls\n\
         2025-12-01T09:00:00Z,acme,chat,key_a,110,55,0.75,3\n\
         2025-12-01T10:00:00Z,acme,\"chat, long\",,7,3,1.5,0\n\
         2025-12-01T23:00:00Z,beta,embed,,1000,0,0.02,4\n"
    );
    let by_tenant = export(&store, &["--by", "tenant", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&by_tenant).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["route"] == "*" && r["key"] == ""));
    assert!(rows.iter().all(|r| r["source"] == "imported"));

    // The same file again: replaced, not added.
    store.ok(&["usage", "import", &path]);
    assert_eq!(export(&store, &[]), csv);

    // Into another store, the export reads back as the same history.
    let other = Store::new().await;
    keys(&other, &["acme", "beta"]);
    let exported = file(&other, "exported.csv", &csv);
    other.ok(&["usage", "import", &exported]);
    assert_eq!(export(&other, &[]), csv);
}

#[tokio::test]
async fn a_file_with_bad_rows_names_each_and_imports_nothing() {
    let store = Store::new().await;
    keys(&store, &["acme"]);
    let path = file(
        &store,
        "bad.csv",
        "timestamp,tenant,route,tokens,cost\n\
         2025-12-01 09:00,acme,chat,10,0.5\n\
         2025-12-01 25:00,acme,chat,10,0.5\n\
         2025-12-01 10:00,acme,chat,ten,-1\n\
         2025-12-01 11:00,acmee,chat,1,1\n",
    );
    let out = store.run(None, &["usage", "import", &path]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "4 problems found; nothing was imported",
        "line 3, timestamp: `2025-12-01 25:00` is not a time",
        "line 4, tokens: `ten` is not a whole number",
        "line 4, cost: `-1` is not an amount of USD",
        "line 5, tenant: `acmee` is not a tenant Seam knows",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert_eq!(
        export(&store, &[]),
        "timestamp,tenant,route,key,input_tokens,output_tokens,cost,calls\n",
        "nothing was imported"
    );
    // Only the unknown tenant left: --allow-unknown imports it.
    let path = file(
        &store,
        "new.csv",
        "timestamp,tenant,route,tokens,cost\n2025-12-01 11:00,acmee,chat,1,1\n",
    );
    let out = store.run(None, &["usage", "import", &path]);
    assert!(!out.status.success());
    store.ok(&["usage", "import", &path, "--allow-unknown"]);
    assert!(export(&store, &[]).contains("acmee,chat,,1,0,1,0"));
}
