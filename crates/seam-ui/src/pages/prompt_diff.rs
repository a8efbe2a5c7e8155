//! Two releases of a prompt side by side: their content as `seam prompt diff` compares it
//! (pretty JSON, one key per line), diffed by line with `similar`, as the CLI does.

use super::prompts::prompt_name;
use super::*;
use similar::{DiffTag, TextDiff};
use std::time::Duration;

/// A release's content as lines to compare (`seam prompt diff`'s form).
fn lines(content: &str) -> String {
    let value: Value = serde_json::from_str(content).unwrap_or(Value::Null);
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// The rows of a side-by-side diff: `old` on the left, `new` on the right; each row
/// `same`, `del` (left only), `ins` (right only) or `chg` (both, changed).
pub(crate) fn side_by_side(old: &str, new: &str) -> Vec<Value> {
    let diff = TextDiff::configure()
        // A pathological pair gives a coarser diff rather than a slow page.
        .timeout(Duration::from_millis(200))
        .diff_lines(old, new);
    let text = |s: Option<&str>| s.map(|l| l.trim_end_matches(['\n', '\r']).to_string());
    let mut rows = Vec::new();
    for op in diff.ops() {
        let (tag, a, b) = op.as_tag_tuple();
        let n = a.len().max(b.len());
        for k in 0..n {
            let (i, j) = (a.start + k, b.start + k);
            let left = (k < a.len()).then(|| (i + 1, text(diff.old_slice(i))));
            let right = (k < b.len()).then(|| (j + 1, text(diff.new_slice(j))));
            let kind = match (tag, &left, &right) {
                (DiffTag::Equal, _, _) => "same",
                (_, Some(_), Some(_)) => "chg",
                (_, Some(_), None) => "del",
                _ => "ins",
            };
            rows.push(json!({
                "kind": kind,
                "l_no": left.as_ref().map(|l| l.0),
                "l": left.and_then(|l| l.1),
                "r_no": right.as_ref().map(|r| r.0),
                "r": right.and_then(|r| r.1),
            }));
        }
    }
    rows
}

/// GET /ui/prompts/{name}/diff?a=ID&b=ID: release `a` (by default the one before `b`)
/// against `b` (by default the latest).
pub(crate) async fn diff(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let name = match prompt_name(&ui, &who, &name) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let releases = match ui.store.list_releases(name).await {
        Ok(r) => r,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let pick = |k: &str, default: Option<usize>| -> Result<usize, String> {
        match param(&q, k) {
            Some(id) => releases
                .iter()
                .position(|r| r.id == id)
                .ok_or_else(|| format!("`{name}` has no release `{id}`")),
            None => default
                .ok_or_else(|| format!("`{name}` has no two releases to compare: give ?a=ID&b=ID")),
        }
    };
    let picked = pick("b", releases.len().checked_sub(1))
        .and_then(|b| Ok((pick("a", b.checked_sub(1))?, b)));
    let (a, b) = match picked {
        Ok(ab) => ab,
        Err(e) => return ui.message(StatusCode::NOT_FOUND, &e, Some(&who)),
    };
    let (ra, rb) = (&releases[a], &releases[b]);
    let (old, new) = (lines(&ra.content), lines(&rb.content));
    let ids: Vec<Value> = releases
        .iter()
        .rev()
        .map(|r| json!({"id": r.id, "label": format!("{} ({} UTC, {})", r.id, timestamp(r.created_ms), r.author)}))
        .collect();
    let side = |r: &seam_store::ReleaseRecord| json!({"id": r.id, "time": timestamp(r.created_ms), "author": r.author});
    ui.page(
        StatusCode::OK,
        &format!("{name}: {} against {}", rb.id, ra.id),
        "prompt_diff.html",
        json!({
            "name": name,
            "seg": segment(name),
            "a": side(ra),
            "b": side(rb),
            "same": old == new,
            "rows": side_by_side(&old, &new),
            "releases": ids,
        }),
        Some(&who),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_sits_beside_its_old_self_and_additions_stand_alone() {
        let rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n");
        let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
        assert_eq!(kinds, ["same", "chg", "same", "ins"]);
        assert_eq!(
            (rows[1]["l"].as_str(), rows[1]["r"].as_str()),
            (Some("b"), Some("B"))
        );
        assert_eq!(
            (rows[3]["l_no"].clone(), rows[3]["r_no"].clone()),
            (Value::Null, json!(4))
        );
        let gone = side_by_side("a\nb\n", "a\n");
        assert_eq!(gone[1]["kind"], "del");
    }
}
