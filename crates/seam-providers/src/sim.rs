//! Seam's simulated upstream, in-process: no socket, same scenario engine as `seam sim`.

use crate::{
    AttemptError, Complete, Endpoint, ErrorClass, Provider, Reply, StreamEvent, UpstreamRequest,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use seam_sim::{Output, Scenario, Sim};
use seam_wire::At;
use seam_wire::UsageReport;
use serde_json::Value;

pub struct InProcessSim {
    name: String,
    sim: Sim,
    /// Whether it speaks the Responses API (`[[providers]] responses`, default true).
    responses: bool,
}

impl InProcessSim {
    pub fn new(cfg: &seam_config::Provider) -> Result<InProcessSim, String> {
        let scenario = match &cfg.scenario {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("scenario {}: {e}", path.display()))?;
                Scenario::from_toml(&text)
                    .map_err(|e| format!("scenario {}: {e}", path.display()))?
            }
            None => Scenario::default(),
        };
        Ok(InProcessSim {
            name: cfg.name.clone(),
            sim: Sim::new(scenario),
            responses: cfg.responses,
        })
    }

    /// The engine, so that tests and the demo can swap the scenario at run time.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }
}

#[async_trait]
impl Provider for InProcessSim {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "sim"
    }

    fn responses(&self) -> bool {
        self.responses
    }

    async fn stored_response(
        &self,
        method: ::http::Method,
        id_and_query: &str,
    ) -> Result<crate::responses::Stored, AttemptError> {
        let id = id_and_query.split('?').next().unwrap_or_default();
        match seam_sim::responses::stored(&self.sim, id, method == ::http::Method::DELETE) {
            Output::Json { status, body, .. } if self.responses => {
                Ok(crate::responses::Stored { status, body })
            }
            _ => Err(AttemptError::new(
                ErrorClass::Status4xx,
                format!("provider `{}` does not store responses", self.name),
            )),
        }
    }

    async fn send(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError> {
        let body: Value =
            serde_json::from_slice(&crate::openai::upstream_body(&req)).unwrap_or(Value::Null);
        let endpoint = match req.endpoint {
            Endpoint::ChatCompletions => seam_sim::Endpoint::ChatCompletions,
            Endpoint::Completions => seam_sim::Endpoint::Completions,
            Endpoint::Embeddings => seam_sim::Endpoint::Embeddings,
            Endpoint::Responses => seam_sim::Endpoint::Responses,
        };
        let responses = req.endpoint == Endpoint::Responses;
        let (delay, out) = self.sim.call(endpoint, &body);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let name = self.name.clone();
        match out {
            Output::Json {
                status,
                headers,
                body,
                cut,
            } => {
                if cut {
                    return Err(AttemptError::new(
                        ErrorClass::StreamCut,
                        format!("provider `{name}` cut the response body short"),
                    ));
                }
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let passed = crate::Passed::from_headers(
                    &headers
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((
                                http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                                http::HeaderValue::from_str(v).ok()?,
                            ))
                        })
                        .collect(),
                );
                if (300..400).contains(&status) {
                    let location = headers.iter().find(|(k, _)| k == "location");
                    return Err(AttemptError::redirected(
                        &name,
                        status,
                        location.map(|(_, v)| v.as_str()),
                    ));
                }
                if status != 200 {
                    let header = |n: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == n)
                            .and_then(|(_, v)| v.parse::<f64>().ok())
                    };
                    let retry_after = header("retry-after-ms")
                        .and_then(|ms| crate::http::seconds(ms / 1000.0))
                        .or_else(|| header("retry-after").and_then(crate::http::seconds));
                    let msg = value
                        .at(&["error", "message"])
                        .and_then(Value::as_str)
                        .unwrap_or("error");
                    return Err(AttemptError {
                        class: ErrorClass::from_status(status),
                        status: Some(status),
                        message: format!("provider `{name}` answered {status}: {msg}"),
                        body: Some(String::from_utf8_lossy(&body).into_owned()),
                        retry_after,
                        usage: UsageReport::from_openai(value.get("usage")),
                        upstream: crate::ProviderError::from_openai(status, &value).map(Box::new),
                        passed,
                    });
                }
                let mut complete = if responses {
                    crate::responses::complete(body, &name)?
                } else {
                    Complete::from_openai_bytes(body, &name)?
                };
                complete.passed = passed;
                Ok(Reply::Complete(complete))
            }
            Output::Sse {
                mut events,
                interval,
                cut_after,
                huge_line,
                // In process, events are handed over one by one whatever the wire would do.
                together: _,
            } => {
                // In process there is no wire to send a line on: its stream goes silent
                // after the events before the line, as a line that never ends would keep it.
                let silence = huge_line.map(|h| {
                    events.truncate(h.after);
                    h.hold
                });
                let limit = cut_after.unwrap_or(usize::MAX);
                let s = futures_util::stream::iter(events.into_iter().enumerate()).then(
                    move |(i, ev)| {
                        let name = name.clone();
                        async move {
                            if i > 0 && !interval.is_zero() {
                                tokio::time::sleep(interval).await;
                            }
                            if i >= limit {
                                return Err(AttemptError::new(
                                    ErrorClass::StreamCut,
                                    format!("the stream from provider `{name}` broke"),
                                ));
                            }
                            parse_event(&ev, &name, responses)
                        }
                    },
                );
                // A Responses event may stand for two (its terminal event, then the end).
                let s = s.flat_map(|r| {
                    let items: Vec<Result<StreamEvent, AttemptError>> = match r {
                        Ok(evs) => evs.into_iter().map(Ok).collect(),
                        Err(e) => vec![Err(e)],
                    };
                    futures_util::stream::iter(items)
                });
                // Stop after the first error, as a broken connection would.
                let s = s.scan(false, |failed, r| {
                    if *failed {
                        return futures_util::future::ready(None);
                    }
                    *failed = r.is_err();
                    futures_util::future::ready(Some(r))
                });
                let s = s.chain(
                    futures_util::stream::once(async move {
                        if let Some(d) = silence {
                            tokio::time::sleep(d).await;
                        }
                    })
                    .filter_map(|()| futures_util::future::ready(None)),
                );
                Ok(Reply::Stream(s.boxed(), crate::Passed::default()))
            }
            Output::Hang(d) => {
                tokio::time::sleep(d).await;
                Err(AttemptError::new(
                    ErrorClass::Timeout,
                    format!("timed out waiting for provider `{name}`"),
                ))
            }
            Output::Reset => Err(AttemptError::new(
                ErrorClass::Reset,
                format!("lost the connection to provider `{name}`"),
            )),
        }
    }
}

fn parse_event(ev: &Bytes, name: &str, responses: bool) -> Result<Vec<StreamEvent>, AttemptError> {
    let text = std::str::from_utf8(ev).unwrap_or("");
    if responses {
        // `event: TYPE` then `data: {...}`.
        let data = text
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_default();
        return crate::responses::stream_events(data, name);
    }
    parse_chat_event(text).map(|e| vec![e])
}

fn parse_chat_event(text: &str) -> Result<StreamEvent, AttemptError> {
    let data = text.trim().strip_prefix("data: ").unwrap_or(text.trim());
    if data == "[DONE]" {
        return Ok(StreamEvent::Done);
    }
    let value = serde_json::from_str(data).map_err(|e| {
        AttemptError::new(
            ErrorClass::BadResponse,
            format!("sim event is not JSON: {e}"),
        )
    })?;
    Ok(StreamEvent::Chunk(crate::Chunk::new(
        Some(Bytes::copy_from_slice(data.as_bytes())),
        value,
    )))
}
