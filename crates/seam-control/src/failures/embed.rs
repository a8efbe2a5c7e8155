//! User turns embedded through `[failures] embedding_route`, for the rephrase signal and the
//! clusters (docs/failures.md "Embeddings"). The calls go through the gateway like an eval
//! grader's (`seam_evals::Backend`: an in-process gateway or `--gateway`, marked as eval
//! traffic), in batches, each distinct text once a pass (a cache by content hash), at most
//! [`MAX_TEXTS`] texts a pass. A route that fails makes the whole pass lexical, and
//! [`Embedder::similarity`] says so: a report never reads as embedded when it was not.
//! Texts are never logged; an error names the route and what it answered.

use seam_evals::Backend;
use seam_signals::Vectors;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Texts per embeddings call (OpenAI takes up to 2,048 inputs a call; 256 keeps a call's body
/// to a few MB for long turns).
pub const BATCH: usize = 256;
/// Distinct texts embedded per pass at most: a pass over a busy week must not turn into
/// hundreds of thousands of paid inputs. Those left out are compared lexically, and counted.
pub const MAX_TEXTS: usize = 10_000;
/// Flagged texts clustered by embeddings at most: the dense linkage compares every pair once
/// (5,000 texts are 12.5M products). Over it the clusters are lexical, and the report says so.
pub const MAX_CLUSTER_TEXTS: usize = 5_000;

/// The route, its thresholds, the vectors fetched so far and whether the route failed.
pub struct Embedder<'a> {
    backend: &'a dyn Backend,
    pub route: String,
    pub rephrase_threshold: f64,
    pub cluster_threshold: f64,
    pub cover_threshold: f64,
    cache: HashMap<u64, Vec<f32>>,
    failed: Option<String>,
    /// Distinct texts asked for beyond `MAX_TEXTS`.
    left_out: usize,
    max_texts: usize,
}

fn key(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl<'a> Embedder<'a> {
    /// `None` without `[failures] embedding_route`.
    pub fn new(backend: &'a dyn Backend, cfg: &seam_config::Failures) -> Option<Embedder<'a>> {
        let route = cfg.embedding_route.clone()?;
        Some(Embedder {
            backend,
            route,
            rephrase_threshold: cfg.embed_rephrase_threshold,
            cluster_threshold: cfg.embed_cluster_threshold,
            cover_threshold: cfg.embed_cover_threshold,
            cache: HashMap::new(),
            failed: None,
            left_out: 0,
            max_texts: MAX_TEXTS,
        })
    }

    /// Another bound on the distinct texts a pass embeds.
    pub fn with_max_texts(mut self, max: usize) -> Embedder<'a> {
        self.max_texts = max;
        self
    }

    /// The route failed (now or earlier in the pass): why.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Records that embeddings could not be used at all (e.g. the gateway did not start).
    pub fn fail(&mut self, why: impl Into<String>) {
        self.failed.get_or_insert_with(|| why.into());
    }

    /// Embeds those of `texts` not embedded yet (empty ones are skipped), `BATCH` a call, up to
    /// the pass's bound. Returns whether the route is still usable.
    pub async fn embed<'t>(&mut self, texts: impl IntoIterator<Item = &'t str>) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let mut todo: Vec<String> = Vec::new();
        let mut queued: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for t in texts {
            let k = key(t);
            if t.trim().is_empty() || self.cache.contains_key(&k) || !queued.insert(k) {
                continue;
            }
            if self.cache.len() + todo.len() >= self.max_texts {
                self.left_out += 1;
                continue;
            }
            todo.push(t.to_string());
        }
        for batch in todo.chunks(BATCH) {
            match self.backend.embed(&self.route, batch).await {
                Ok(vectors) if vectors.len() == batch.len() => {
                    for (t, v) in batch.iter().zip(vectors) {
                        self.cache.insert(key(t), v);
                    }
                }
                Ok(vectors) => {
                    self.fail(format!(
                        "embedding route `{}` gave {} embeddings for {} texts",
                        self.route,
                        vectors.len(),
                        batch.len()
                    ));
                    return false;
                }
                Err(e) => {
                    // The gateway client's errors name the route already when it answered.
                    let e = e.to_string();
                    self.fail(if e.starts_with("embedding route") {
                        e
                    } else {
                        format!("embedding route `{}` failed: {e}", self.route)
                    });
                    return false;
                }
            }
        }
        true
    }

    /// Whether every one of `texts` has a vector.
    pub fn has_all<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> bool {
        self.failed.is_none()
            && texts
                .into_iter()
                .all(|t| t.trim().is_empty() || self.cache.contains_key(&key(t)))
    }

    /// What the pass compared texts with, for a report's `similarity`: "embeddings via route
    /// `embed` (…)", or "lexical (embedding route `embed` failed: …)".
    pub fn similarity(&self) -> String {
        if let Some(why) = &self.failed {
            return format!("lexical ({why})");
        }
        let mut s = format!(
            "embeddings via route `{}` ({} distinct texts embedded",
            self.route,
            self.cache.len()
        );
        if self.left_out > 0 {
            s.push_str(&format!(
                "; {} more compared lexically: at most {} a pass",
                self.left_out, self.max_texts
            ));
        }
        s.push(')');
        s
    }
}

impl Vectors for Embedder<'_> {
    fn vector(&self, text: &str) -> Option<&[f32]> {
        if self.failed.is_some() {
            return None;
        }
        self.cache.get(&key(text)).map(Vec::as_slice)
    }
}

/// A report's `similarity` when nothing was embedded: "lexical", or why not when a route is
/// configured.
pub fn lexical(cfg: &seam_config::Failures, why_not: Option<&str>) -> String {
    match (&cfg.embedding_route, why_not) {
        (Some(r), Some(why)) => format!("lexical (embedding route `{r}` not used: {why})"),
        _ => "lexical".into(),
    }
}
