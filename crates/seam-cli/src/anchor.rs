//! `seam serve` anchoring the audit chain's head outside the store (`[audit]`): at start and
//! every interval the head is appended to a file and POSTed to a URL, as one JSON line
//! `{"at": ms, "count": N, "head": "HEX"}`. `seam audit verify --anchor-file` or `--head`
//! then shows a chain cut short or rolled back. A destination that fails is logged and tried
//! again at the next interval; calls never wait on it.

use seam_store::Audit;
use seam_store::audit::{Anchor, Head};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct Anchors {
    file: Option<PathBuf>,
    url: Option<String>,
    interval: Duration,
    client: reqwest::Client,
}

impl Anchors {
    /// `None` when `[audit]` anchors nowhere.
    pub fn new(cfg: &seam_config::Audit) -> anyhow::Result<Option<Anchors>> {
        if !cfg.anchors() {
            return Ok(None);
        }
        let client = seam_gateway::outbound::http_client(Duration::from_secs(5))
            .map_err(anyhow::Error::msg)?;
        Ok(Some(Anchors {
            file: cfg.anchor_file.clone(),
            url: cfg.anchor_url.clone(),
            interval: cfg.anchor_interval,
            client,
        }))
    }

    /// Anchors a head just read. Returns what failed, each already logged.
    pub async fn anchor(&self, head: seam_store::Result<Head>) -> Vec<String> {
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the audit chain's head to anchor it; trying again next interval");
                return vec![e.to_string()];
            }
        };
        let line = Anchor {
            at: seam_store::now_ms(),
            count: head.count,
            head: head.hash,
        };
        let text = json_line(&line);
        let mut failed = Vec::new();
        if let Some(path) = &self.file {
            let (path, line) = (path.clone(), format!("{text}\n"));
            let written = tokio::task::spawn_blocking(move || append(&path, &line)).await;
            if let Err(e) = written.map_err(|e| e.to_string()).and_then(|r| r) {
                tracing::warn!(error = %e, "cannot anchor the audit head to the file; trying again next interval");
                failed.push(e);
            }
        }
        if let Some(url) = &self.url
            && let Err(e) = self.post(url, text).await
        {
            let url = seam_config::redact_url(url);
            tracing::warn!(%url, error = %e, "cannot anchor the audit head to the URL; trying again next interval");
            failed.push(e);
        }
        failed
    }

    async fn post(&self, url: &str, body: String) -> Result<(), String> {
        let sent = self
            .client
            .post(url)
            .timeout(self.interval.min(Duration::from_secs(10)))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            // The URL may carry a token: errors name the anchor URL redacted, above.
            .map_err(|e| e.without_url().to_string())?;
        match sent.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("the anchor URL answered {s}")),
        }
    }

    /// Anchors the store's head at once, then every interval, in a task of its own.
    pub fn spawn(self, store: Arc<dyn Audit>) -> tokio::task::JoinHandle<()> {
        self.every_interval(move || {
            let store = store.clone();
            async move { store.audit_head().await }
        })
    }

    fn every_interval<F, Fut>(self, head: F) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = seam_store::Result<Head>> + Send,
    {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.anchor(head().await).await;
            }
        })
    }
}

fn json_line(a: &Anchor) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| unreachable!("an anchor is numbers and hex"))
}

/// One line, appended in one write and flushed to disk: several gateways may share the file.
fn append(path: &Path, line: &str) -> Result<(), String> {
    let named = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(named)?;
    f.write_all(line.as_bytes()).map_err(named)?;
    f.sync_data().map_err(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_store::audit::GENESIS;
    use std::sync::Mutex;

    fn lines(path: &Path) -> Vec<Anchor> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an anchor line"))
            .collect()
    }

    fn anchors(file: Option<PathBuf>, url: Option<String>) -> Anchors {
        Anchors::new(&seam_config::Audit {
            anchor_file: file,
            anchor_url: url,
            anchor_interval: Duration::from_secs(60),
        })
        .expect("anchors")
        .expect("some")
    }

    #[tokio::test(start_paused = true)]
    async fn the_head_is_appended_at_start_and_every_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("heads.jsonl");
        let genesis = Head {
            count: 0,
            hash: GENESIS.into(),
        };
        let now = Arc::new(Mutex::new(genesis.clone()));
        let read = now.clone();
        let task = anchors(Some(file.clone()), None).every_interval(move || {
            let head = read.lock().expect("head").clone();
            async move { Ok(head) }
        });
        // The interval runs on paused time; the line itself is written on a blocking thread,
        // which the test waits for (bounded) before reading the file.
        let heads_after = |secs, n: usize| {
            let file = file.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                for _ in 0..400 {
                    if lines(&file).len() >= n {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                lines(&file).iter().map(Anchor::head).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            heads_after(1, 1).await,
            std::slice::from_ref(&genesis),
            "at start"
        );
        let two = Head {
            count: 2,
            hash: "ab".repeat(32),
        };
        *now.lock().expect("head") = two.clone();
        assert_eq!(heads_after(30, 1).await.len(), 1, "not before the interval");
        assert_eq!(heads_after(30, 2).await, [genesis, two]);
        task.abort();
    }

    #[tokio::test]
    async fn the_head_is_posted_to_the_url_and_a_failing_url_does_not_stop_the_file() {
        use axum::routing::post;
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        let store = seam_store::open(&url).await.expect("store");
        store
            .append_audit("ana", "key.create", "key_1", None, None, 1)
            .await
            .expect("append");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let app = axum::Router::new()
            .route(
                "/anchor",
                post(move |body: String| async move {
                    let _ = tx.send(body);
                    "ok"
                }),
            )
            .route(
                "/broken",
                post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });

        let to_url = anchors(None, Some(format!("http://{addr}/anchor")));
        assert_eq!(
            to_url.anchor(store.audit_head().await).await,
            Vec::<String>::new()
        );
        let sent: Anchor =
            serde_json::from_str(&rx.recv().await.expect("a POST")).expect("an anchor line");
        assert_eq!(sent.head(), store.audit_head().await.expect("head"));
        assert!(sent.at > 0);

        let file = dir.path().join("heads.jsonl");
        let broken = anchors(Some(file.clone()), Some(format!("http://{addr}/broken")));
        assert_eq!(
            broken.anchor(store.audit_head().await).await,
            ["the anchor URL answered 500 Internal Server Error"]
        );
        assert_eq!(lines(&file).len(), 1, "the file has its line all the same");
    }
}
