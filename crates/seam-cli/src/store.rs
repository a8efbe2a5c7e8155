//! `seam migrate` and `seam store export`.

use crate::cli::StoreArgs;
use crate::format::parse_since;
use seam_store::{ContentRecord, ExportCursor, ExportKind, Records};
use std::io::Write;

pub async fn migrate(store_args: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let (url, max) = store_args.url()?;
    crate::cli::sqlite_dir_exists(&url)?;
    let shown = seam_config::redact_url(&url);
    let store = seam_store::SqlStore::connect_with(&url, max)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the store {shown}: {e}"))?;
    let before = store.schema_version().await?;
    if before > seam_store::SCHEMA_VERSION {
        anyhow::bail!(
            "{shown} is at schema version {before}, newer than this seam knows ({}); nothing done",
            seam_store::SCHEMA_VERSION
        );
    }
    // A long migration (16 on a large PostgreSQL store) says how far it is, on standard error
    // so that `--json` output stays one object.
    let after = store.migrate_with(&|line| eprintln!("{line}")).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"store": shown, "from": before, "to": after})
        );
    } else if before == after {
        println!("{shown}: schema at version {after}, nothing to do");
    } else {
        println!("{shown}: schema migrated from version {before} to {after}");
    }
    Ok(())
}

const PAGE: i64 = 1000;

pub async fn export(store_args: &StoreArgs, since: &str, only: Option<&str>) -> anyhow::Result<()> {
    let window = parse_since(since)?;
    let kinds: Vec<ExportKind> = match only {
        None => ExportKind::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|k| match k.trim() {
                "calls" => Ok(ExportKind::Calls),
                "attempts" => Ok(ExportKind::Attempts),
                "streams" => Ok(ExportKind::Streams),
                "events" => Ok(ExportKind::Events),
                "contents" => Ok(ExportKind::Contents),
                other => Err(anyhow::anyhow!(
                    "--only `{other}`: use calls, attempts, streams, events or contents"
                )),
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let (store, who) = crate::actor::open_as(store_args).await?;
    who.require_admin("exporting the store (every tenant's records)")?;
    let since_ms = seam_store::now_ms() - window.as_millis() as i64;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for kind in kinds {
        let mut cursor = ExportCursor {
            created_ms: since_ms - 1,
            id: String::new(),
        };
        let mut n = 0u64;
        loop {
            let (rows, next) = store.export_page(kind, &cursor, PAGE).await?;
            for mut row in rows {
                if kind == ExportKind::Contents {
                    open_content(&mut row);
                }
                if let Some(o) = row.as_object_mut() {
                    o.insert("type".into(), kind.as_str().into());
                }
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
                n += 1;
            }
            match next {
                Some(c) => cursor = c,
                None => break,
            }
            if n.is_multiple_of(100_000) {
                eprintln!("  {} {}s so far", n, kind.as_str());
            }
        }
        eprintln!("exported {n} {}s", kind.as_str());
    }
    out.flush()?;
    Ok(())
}

/// A content row as exported: its stored body (compressed, in hex) replaced by the content it
/// holds (`content`, as `seam calls show --json` gives it); a body that does not decode is
/// kept as it is, with `error` saying why, so that nothing is lost.
fn open_content(row: &mut serde_json::Value) {
    use serde::Deserialize;
    let record = ContentRecord::deserialize(&*row);
    let Some(o) = row.as_object_mut() else {
        return;
    };
    match record.map(|r| seam_control::calls::Content::from_record(&r)) {
        Ok(content) => match &content.body {
            Ok(_) => {
                o.remove("body");
                o.insert("content".into(), content.to_json());
            }
            Err(e) => {
                o.insert("error".into(), e.clone().into());
            }
        },
        Err(e) => {
            o.insert("error".into(), format!("stored content: {e}").into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_content_row_is_opened_or_kept_with_its_error() {
        let body = seam_capture::Content::from_request(
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .to_bytes()
        .unwrap();
        let row = |body: &[u8]| {
            json!({"call_id": "call_1", "created_ms": 1, "format": 1, "bytes": 2,
                   "truncated": false, "redactions": 0, "body": hex::encode(body)})
        };
        let mut ok = row(&body);
        open_content(&mut ok);
        assert_eq!(ok.get("body"), None, "{ok}");
        assert_eq!(ok["content"]["messages"][0]["parts"][0]["text"], "hi");
        assert_eq!(ok["call_id"], "call_1");

        let mut bad = row(&[1, 2, 3]);
        open_content(&mut bad);
        assert_eq!(bad["body"], "010203");
        assert!(
            bad["error"]
                .as_str()
                .unwrap()
                .starts_with("stored content: ")
        );
        assert_eq!(bad.get("content"), None);

        let mut not_hex = row(&[]);
        not_hex["body"] = "zz".into();
        open_content(&mut not_hex);
        assert_eq!(not_hex["body"], "zz");
        assert!(not_hex["error"].is_string(), "{not_hex}");
    }
}
