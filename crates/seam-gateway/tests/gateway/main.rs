//! The gateway over real loopback HTTP: a `seam sim` server as the upstream, a real SQLite
//! store, reqwest as the client.

mod anthropic;
mod audit;
mod capture;
mod cluster;
mod control_api;
mod control_api_calls;
mod drift;
mod errors;
mod harness;
mod huge_events;
mod limits;
mod messages;
mod metrics;
mod outage;
mod ownership;
mod prices;
mod prompt_limits;
mod prompts;
mod purpose;
mod records;
mod redis_limits;
mod relayed;
mod responses;
mod retries;
mod secrets;
mod server_limits;
mod sessions;
mod shutdown;
mod streams;
mod surface;
mod telemetry;
mod ui;
mod ui_prompts;
mod untrusted;
mod usage;
