//! `seam report value (--since 90d | --quarter 2026Q4) [--format md|csv|json]`: the value
//! ledger summed per prompt and in total, for finance (docs/evals.md "Value ledger"). The
//! report itself is `seam_control::value`'s, shared with the dashboard's `/ui/value`.

use crate::cli::StoreArgs;
use crate::format::parse_since;
use seam_evals::value::METHOD;

/// `seam report value`.
pub async fn report(
    store_args: &StoreArgs,
    since: Option<&str>,
    quarter_arg: Option<&str>,
    format: &str,
) -> anyhow::Result<()> {
    if !["md", "csv", "json"].contains(&format) {
        anyhow::bail!("--format `{format}`: use md, csv or json");
    }
    let now = seam_store::now_ms();
    let (start, end) = match (since, quarter_arg) {
        (Some(_), Some(_)) => anyhow::bail!("give --since or --quarter, not both"),
        (_, Some(q)) => seam_control::value::quarter(q).map_err(|e| anyhow::anyhow!("--{e}"))?,
        (s, None) => (
            now - parse_since(s.unwrap_or("90d"))?.as_millis() as i64,
            now,
        ),
    };
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let report = seam_control::value::report(&store, start, end).await?;
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&report.json())?),
        "csv" => {
            print!("{}", report.csv());
            // Under the table would break the sheet: the method goes to standard error.
            eprintln!("{METHOD}");
        }
        _ => print!("{}", report.markdown()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bad_quarter_names_the_option() {
        let e = seam_control::value::quarter("2026Q5")
            .map_err(|e| format!("--{e}"))
            .expect_err("no fifth quarter");
        assert!(
            e.starts_with("--quarter `2026Q5`") && e.contains("2026Q4"),
            "{e}"
        );
    }
}
