//! `seam dataset lint --judge-rubric FILE`: the judge rule's calls, through a gateway as eval
//! judges are called (marked as eval traffic, recorded and priced there), its verdicts cached
//! beside the input, and its spend estimated at the route's model's `[prices]`.

use super::LintArgs;
use seam_lint::judge::{Cache, Judged, Pending, Spec};

/// The judge's spec from the flags, or none without `--judge-rubric`.
pub(super) fn spec(
    a: &LintArgs,
    config: Option<&seam_config::Config>,
) -> Result<Option<Spec>, String> {
    let Some(path) = &a.judge_rubric else {
        return Ok(None);
    };
    let rubric = std::fs::read_to_string(path)
        .map_err(|e| format!("--judge-rubric {}: cannot read: {e}", path.display()))?;
    if rubric.trim().is_empty() {
        return Err(format!(
            "--judge-rubric {}: the rubric is empty",
            path.display()
        ));
    }
    if !(0.0..=1.0).contains(&a.judge_sample) {
        return Err(format!(
            "--judge-sample {}: a share from 0 to 1",
            a.judge_sample
        ));
    }
    let route = a
        .judge_route
        .clone()
        .or_else(|| config.and_then(|c| c.evals.judge_route.clone()))
        .ok_or("--judge-rubric needs a route: --judge-route ROUTE, or [evals] judge_route in the config")?;
    Ok(Some(Spec {
        route,
        rubric,
        sample: a.judge_sample,
    }))
}

/// Judges what the lint picked; the spend at the route's first target's model's price.
pub(super) async fn judge(
    spec: &Spec,
    pending: &[Pending],
    a: &LintArgs,
    config: Option<&seam_config::Config>,
) -> Result<Judged, String> {
    let base = a
        .gateway
        .as_deref()
        .ok_or("--judge-rubric needs --gateway URL")?;
    let gateway =
        crate::eval::client::Gateway::new(base, a.key.clone()).map_err(|e| e.to_string())?;
    let cache_path = a.judge_cache.clone().unwrap_or_else(|| {
        let stem = a
            .file
            .file_stem()
            .map_or_else(|| "dataset".into(), |s| s.to_string_lossy().into_owned());
        a.file.with_file_name(format!("{stem}.judge-cache.jsonl"))
    });
    let mut cache = Cache::open(&cache_path)?;
    let mut judged = seam_lint::judge::run(spec, pending, &gateway, &mut cache).await?;
    let price = config.and_then(|c| {
        let model = &c.route(&spec.route)?.targets.first()?.model;
        c.price(model)
    });
    judged.spend = price.map(|p| p.cost(judged.input_tokens, judged.output_tokens));
    Ok(judged)
}
