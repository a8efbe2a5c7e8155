//! Phase 3 of [`crate::pipeline`], render: a call to `model: "prompt:NAME"` (channel `production`) or
//! `"prompt:NAME@CHANNEL"` gets the release deployed on that channel: its messages rendered
//! with the call's `seam_variables` in front of the call's own turns, its tools and params,
//! and its pinned model. Deployed releases are served from a snapshot refreshed from the store,
//! so the hot path never waits on the database.
//!
//! An eval run's call (`x-seam-purpose: eval`) may name a stored release by id instead,
//! `model: "release:ID"`, deployed or not: rendered the same way, loaded from the store once
//! and kept (releases never change), never pinned to a session. Live traffic may not: it calls
//! a channel, so what it is served went through the channel's deploy rules and gates.

use crate::edge::Edge;
use crate::errors::GatewayError;
use seam_prompts::Prompt;
use seam_store::Releases;
use seam_wire::RequestBody;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub const PREFIX: &str = seam_config::PROMPT_MODEL_PREFIX;
/// `release:ID`: a stored release by id, for eval traffic only.
pub const RELEASE_PREFIX: &str = seam_config::RELEASE_MODEL_PREFIX;
pub const DEFAULT_CHANNEL: &str = "production";

/// A release as the gateway serves it.
pub struct Deployed {
    pub release_id: String,
    pub prompt: Prompt,
}

/// What a channel serves now, and how it got there.
#[derive(Clone)]
pub struct Channel {
    pub deployed: Arc<Deployed>,
    /// Deployed with mode `immediate`: sessions pinned before `since_ms` move at their next call.
    pub immediate: bool,
    pub since_ms: i64,
}

type Channels = HashMap<(String, String), Channel>;

#[derive(Default)]
pub struct ReleaseCache {
    current: RwLock<Arc<Channels>>,
    /// Releases never change: each is parsed once.
    by_id: Mutex<HashMap<String, Arc<Deployed>>>,
}

/// `prompt:NAME[@CHANNEL]` -> (NAME, CHANNEL).
pub fn target(model: &str) -> Option<(&str, &str)> {
    let rest = model.strip_prefix(PREFIX)?;
    Some(match rest.split_once('@') {
        Some((name, channel)) => (name, channel),
        None => (rest, DEFAULT_CHANNEL),
    })
}

/// `release:ID` -> ID.
pub fn release_target(model: &str) -> Option<&str> {
    model.strip_prefix(RELEASE_PREFIX)
}

/// Whether `model` names a release to render: a prompt's channel or a release by id.
pub fn renders(model: &str) -> bool {
    target(model).is_some() || release_target(model).is_some()
}

impl ReleaseCache {
    /// A release by id, parsed once; releases never change, so a pinned session's old
    /// release stays servable after its channel has moved on.
    pub async fn load(
        &self,
        store: &dyn Releases,
        id: &str,
    ) -> Result<Option<Arc<Deployed>>, seam_store::StoreError> {
        if let Some(x) = self.by_id.lock().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(Some(x));
        }
        let Some(r) = store.get_release(id).await? else {
            return Ok(None);
        };
        let prompt = serde_json::from_str::<Prompt>(&r.content).map_err(|e| {
            seam_store::StoreError::Invalid(format!("stored release {} does not parse: {e}", r.id))
        })?;
        let x = Arc::new(Deployed {
            release_id: r.id.clone(),
            prompt,
        });
        if let Ok(mut m) = self.by_id.lock() {
            m.insert(r.id, x.clone());
        }
        Ok(Some(x))
    }

    pub async fn refresh(&self, store: &dyn Releases) -> Result<(), seam_store::StoreError> {
        let mut channels = Channels::new();
        for d in store.current_deploys().await? {
            let deployed = match self.load(store, &d.release_id).await {
                Ok(Some(x)) => x,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(release = %d.release_id, error = %e, "a deployed release cannot be served");
                    continue;
                }
            };
            channels.insert(
                (d.prompt, d.channel),
                Channel {
                    deployed,
                    immediate: d.mode == seam_vocab::DeployMode::Immediate,
                    since_ms: d.created_ms,
                },
            );
        }
        if let Ok(mut c) = self.current.write() {
            *c = Arc::new(channels);
        }
        Ok(())
    }

    pub fn spawn_refresh(
        self: &Arc<Self>,
        tasks: &crate::tasks::Tasks,
        store: Arc<dyn Releases>,
        every: Duration,
    ) {
        let cache = self.clone();
        tasks.spawn("release refresh", move |mut stop| async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // A refresh only reads: it may be cut anywhere.
                tokio::select! {
                    _ = async {
                        tick.tick().await;
                        if let Err(e) = cache.refresh(store.as_ref()).await {
                            tracing::warn!(error = %e, "could not refresh deployed releases; keeping the last snapshot");
                        }
                    } => {}
                    _ = stop.wait() => return,
                }
            }
        });
    }

    pub fn get(&self, name: &str, channel: &str) -> Option<Channel> {
        self.current
            .read()
            .ok()
            .and_then(|c| c.get(&(name.to_string(), channel.to_string())).cloned())
    }
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The body to send upstream for a prompt call, with at most `fuel` spent on its templates.
/// It is built on tokio's blocking pool: even bounded, a template looping over what a client
/// sent can take milliseconds, and on the event loop those would stall every other call on it.
pub async fn render(
    body: RequestBody,
    d: Arc<Deployed>,
    fuel: u64,
    edge: Edge,
) -> Result<RequestBody, GatewayError> {
    tokio::task::spawn_blocking(move || render_now(&body, &d, fuel, edge))
        .await
        .map_err(|e| GatewayError::Internal(format!("rendering the prompt failed: {e}")))?
}

fn render_now(
    body: &RequestBody,
    d: &Deployed,
    fuel: u64,
    edge: Edge,
) -> Result<RequestBody, GatewayError> {
    let mut map = body.to_map();
    let vars = match map.remove("seam_variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(GatewayError::InvalidField {
                field: "seam_variables",
                reason: "must be an object of the prompt's variables".into(),
            });
        }
    };
    let p = &d.prompt;
    let mut messages = seam_prompts::render(p, &vars, fuel).map_err(|e| match e {
        seam_prompts::RenderError::OutOfFuel { fuel } => GatewayError::RenderLimit {
            prompt: p.name.clone(),
            fuel,
        },
        e => GatewayError::InvalidField {
            field: "seam_variables",
            reason: format!("prompt `{}`: {e}", p.name),
        },
    })?;
    if edge == Edge::Responses {
        responses_shape(&mut map, messages, p);
        let bytes = serde_json::to_vec(&map).map_err(|e| GatewayError::Internal(e.to_string()))?;
        return RequestBody::parse(bytes.into())
            .map_err(|_| GatewayError::Internal("rendered body".into()));
    }
    if let Some(Value::Array(turns)) = map.remove("messages") {
        messages.extend(turns);
    }
    map.insert("messages".into(), Value::Array(messages));
    map.insert("model".into(), Value::String(p.model.clone()));
    for (k, v) in &p.params {
        map.insert(k.clone(), toml_to_json(v));
    }
    if !p.tools.is_empty() {
        let tools: Vec<Value> = p
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters.as_ref().map(toml_to_json).unwrap_or(json!({"type": "object"})),
                }})
            })
            .collect();
        map.insert("tools".into(), Value::Array(tools));
    }
    if let Some(rf) = &p.response_format {
        map.insert("response_format".into(), toml_to_json(rf));
    }
    let bytes = serde_json::to_vec(&map).map_err(|e| GatewayError::Internal(e.to_string()))?;
    RequestBody::parse(bytes.into()).map_err(|_| GatewayError::Internal("rendered body".into()))
}

/// A release applied to a Responses API call: its messages as input items in front of the
/// call's `input`, its tools as function tools, `response_format` as `text.format`, and an
/// output cap (`max_tokens`, `max_completion_tokens`) as `max_output_tokens`.
fn responses_shape(map: &mut Map<String, Value>, messages: Vec<Value>, p: &Prompt) {
    let mut input = messages;
    match map.remove("input") {
        Some(Value::String(s)) => input.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => input.extend(items),
        _ => {}
    }
    map.insert("input".into(), Value::Array(input));
    map.insert("model".into(), Value::String(p.model.clone()));
    for (k, v) in &p.params {
        let key = match k.as_str() {
            "max_tokens" | "max_completion_tokens" => "max_output_tokens",
            k => k,
        };
        map.insert(key.into(), toml_to_json(v));
    }
    if !p.tools.is_empty() {
        let tools: Vec<Value> = p
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "name": t.name, "description": t.description,
                    "parameters": t.parameters.as_ref().map(toml_to_json).unwrap_or(json!({"type": "object"}))})
            })
            .collect();
        map.insert("tools".into(), Value::Array(tools));
    }
    if let Some(rf) = &p.response_format {
        let rf = toml_to_json(rf);
        let format = match rf.get("json_schema") {
            Some(Value::Object(schema)) => {
                let mut f = schema.clone();
                f.insert("type".into(), json!("json_schema"));
                Value::Object(f)
            }
            _ => rf,
        };
        let text = map.entry("text").or_insert_with(|| json!({}));
        if let Some(t) = text.as_object_mut() {
            t.insert("format".into(), format);
        }
    }
}
