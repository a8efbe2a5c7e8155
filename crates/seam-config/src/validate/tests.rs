//! The config's validation: what each key accepts and refuses.

use crate::parse;
use std::path::Path;
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    (name == "LOCAL_KEY").then(|| "sk-local".to_string())
}

const GOOD: &str = r#"
[server]
listen = "127.0.0.1:4000"

[store]
url = "sqlite://seam.db"

[[providers]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:4010/v1/"
api_key_env = "LOCAL_KEY"

[[routes]]
name = "chat"
targets = [{ provider = "local", model = "sim-large-2026-01" }]

[prices."sim-large-2026-01"]
input = 1.0
output = 4.0
"#;

#[test]
fn the_store_is_sqlite_or_postgres_and_its_url_may_come_from_the_environment() {
    let with = |store: &str| GOOD.replace("url = \"sqlite://seam.db\"", store);
    let env = |name: &str| match name {
        "DB_URL" => Some("postgres://seam:pw@127.0.0.1:5432/seam".to_string()),
        other => env(other),
    };
    let c = parse(
        &with("url_env = \"DB_URL\"\nmax_connections = 16"),
        Path::new("/etc/seam/s.toml"),
        &env,
    )
    .expect("postgres from the environment");
    assert_eq!(c.store.url, "postgres://seam:pw@127.0.0.1:5432/seam");
    assert_eq!(c.store.max_connections, 16);
    // A PostgreSQL store's records spool defaults to beside the config file; a SQLite one's
    // is placed beside its file by the gateway.
    assert_eq!(
        c.records.spool_dir.as_deref(),
        Some(Path::new("/etc/seam/seam-spool"))
    );
    assert_eq!(
        parse(GOOD, Path::new("/etc/seam/s.toml"), &env)
            .expect("valid")
            .records
            .spool_dir,
        None
    );
    assert_eq!(
        crate::redact_url(&c.store.url),
        "postgres://seam:***@127.0.0.1:5432/seam"
    );
    let e = parse(&with("url = \"mysql://x\""), Path::new("s.toml"), &env).expect_err("mysql");
    assert!(
        e.to_string()
            .contains("store.url: `mysql` is not supported"),
        "{e}"
    );
    let e = parse(&with("url_env = \"NOPE\""), Path::new("s.toml"), &env).expect_err("unset");
    assert!(e.to_string().contains("`NOPE` is not set"), "{e}");
}

/// Found by the `config` fuzz target: a store URL from the environment without a scheme was
/// shown whole in the error, password and all.
#[test]
fn a_store_url_the_store_cannot_use_is_never_shown_whole() {
    let with = GOOD.replace("url = \"sqlite://seam.db\"", "url_env = \"DB_URL\"");
    for (url, shown) in [
        (
            "seam:hunter2@db.internal:5432/seam",
            "not a URL (no scheme)",
        ),
        ("hunter2", "not a URL (no scheme)"),
        ("mysql://seam:hunter2@db/seam", "`mysql` is not supported"),
        ("my sql:hunter2@db", "not a URL (no scheme)"),
    ] {
        let env = |name: &str| match name {
            "DB_URL" => Some(url.to_string()),
            other => env(other),
        };
        let e = parse(&with, Path::new("s.toml"), &env).expect_err(url);
        let e = e.to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains(&format!("store.url: {shown}")), "{e}");
    }
}

#[test]
fn production_is_always_protected_and_never_live() {
    let c = parse(GOOD, Path::new("seam.toml"), &env).expect("valid");
    assert_eq!(c.protected_channels, ["production"]);
    let with = |prompts: &str| format!("{GOOD}\n[prompts]\n{prompts}\n");
    let c = parse(
        &with("protected_channels = [\"production\", \"eu-production\"]"),
        Path::new("seam.toml"),
        &env,
    )
    .expect("valid");
    assert_eq!(c.protected_channels, ["production", "eu-production"]);
    let e = parse(
        &with("protected_channels = [\"staging\"]"),
        Path::new("seam.toml"),
        &env,
    )
    .expect_err("production left out");
    assert!(
        e.to_string()
            .contains("prompts.protected_channels: must include \"production\""),
        "{e}"
    );
    let e = parse(
        &with("protected_channels = [\"production\", \"staging\"]\nlive_channel = \"staging\""),
        Path::new("seam.toml"),
        &env,
    )
    .expect_err("a protected live channel");
    assert!(
        e.to_string()
            .contains("prompts.live_channel: `staging` is protected"),
        "{e}"
    );
}

#[test]
fn a_metrics_token_comes_from_the_environment() {
    let text = GOOD.replace(
        "listen = \"127.0.0.1:4000\"",
        "listen = \"127.0.0.1:4000\"\nmetrics_token_env = \"METRICS_TOKEN\"",
    );
    let e = parse(&text, Path::new("seam.toml"), &env).expect_err("unset");
    assert!(
        e.to_string().contains(
            "server.metrics_token_env: the environment variable `METRICS_TOKEN` is not set"
        ),
        "{e}"
    );
    let with = |name: &str| match name {
        "METRICS_TOKEN" => Some("scrape-me".to_string()),
        other => env(other),
    };
    let c = parse(&text, Path::new("seam.toml"), &with).expect("valid");
    assert_eq!(
        c.server.metrics_token.as_ref().map(|s| s.expose()),
        Some("scrape-me")
    );
    assert!(
        parse(GOOD, Path::new("seam.toml"), &env)
            .expect("valid")
            .server
            .metrics_token
            .is_none()
    );
}

#[test]
fn accepts_the_documented_shape() {
    let c = parse(GOOD, Path::new("seam.toml"), &env).expect("valid");
    assert_eq!(
        c.providers[0].base_url.as_deref(),
        Some("http://127.0.0.1:4010/v1")
    );
    assert_eq!(
        c.providers[0].api_key.as_ref().map(|s| s.expose()),
        Some("sk-local")
    );
    assert_eq!(c.route("chat").map(|r| r.targets.len()), Some(1));
    let price = c.price("sim-large-2026-01").expect("price");
    assert!((price.cost(1_000_000, 500_000) - 3.0).abs() < 1e-9);
}

#[test]
fn unknown_key_is_refused_with_its_name_and_line() {
    let text = GOOD.replace("listen = ", "lisen = ");
    let err = parse(&text, Path::new("seam.toml"), &env).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("seam.toml"), "{msg}");
    assert!(msg.contains("lisen"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = GOOD
        .replace("provider = \"local\"", "provider = \"nope\"")
        .replace("LOCAL_KEY", "MISSING_KEY")
        .replace("input = 1.0", "input = -1.0");
    let err = parse(&text, Path::new("seam.toml"), &env).unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("provider `nope` is not defined"), "{msg}");
    assert!(msg.contains("MISSING_KEY"), "{msg}");
    assert!(msg.contains("non-negative"), "{msg}");
}

#[test]
fn prompt_render_fuel_has_a_default_and_must_be_positive() {
    let c = parse(GOOD, Path::new("s.toml"), &env).expect("valid");
    assert_eq!(c.render_fuel, crate::validate::DEFAULT_RENDER_FUEL);
    let with = |fuel: &str| format!("{GOOD}\n[prompts]\nrender_fuel = {fuel}\n");
    let c = parse(&with("5000"), Path::new("s.toml"), &env).expect("valid");
    assert_eq!(c.render_fuel, 5000);
    let e = parse(&with("0"), Path::new("s.toml"), &env).expect_err("zero");
    assert!(
        e.to_string()
            .contains("prompts.render_fuel: must be greater than 0"),
        "{e}"
    );
}

#[test]
fn evals_name_a_directory_beside_the_config_and_routes_it_has() {
    let c = parse(GOOD, Path::new("/srv/app/seam.toml"), &env).expect("valid");
    assert_eq!(c.evals.dir, Path::new("/srv/app/evals"));
    assert_eq!(c.evals.judge_route, None);
    let with = |evals: &str| format!("{GOOD}\n[evals]\n{evals}\n");
    let c = parse(
        &with("dir = \"tests/evals\"\njudge_route = \"chat\"\nembedding_route = \"chat\""),
        Path::new("/srv/app/seam.toml"),
        &env,
    )
    .expect("valid");
    assert_eq!(c.evals.dir, Path::new("/srv/app/tests/evals"));
    assert_eq!(c.evals.judge_route.as_deref(), Some("chat"));
    assert_eq!(c.evals.embedding_route.as_deref(), Some("chat"));
    assert!(
        !c.evals.count_in_budgets,
        "eval traffic is outside cost limits by default"
    );
    let c = parse(&with("count_in_budgets = true"), Path::new("s.toml"), &env).expect("valid");
    assert!(c.evals.count_in_budgets);
    let e = parse(
        &with("count_in_budgets = \"yes\""),
        Path::new("s.toml"),
        &env,
    )
    .expect_err("not a bool");
    assert!(e.to_string().contains("count_in_budgets"), "{e}");

    let e = parse(
        &with("dir = \"\"\njudge_route = \"judge\""),
        Path::new("s.toml"),
        &env,
    )
    .expect_err("bad evals");
    let msg = e.to_string();
    assert!(msg.contains("evals.dir: name a directory"), "{msg}");
    assert!(
        msg.contains("evals.judge_route: route `judge` is not in the config"),
        "{msg}"
    );
    let e = parse(&with("datasets = \"x\""), Path::new("s.toml"), &env).expect_err("unknown");
    assert!(e.to_string().contains("unknown field `datasets`"), "{e}");
}

#[test]
fn canaries_read_beside_the_config_and_reach_the_limiter() {
    let c = parse(GOOD, Path::new("/srv/app/seam.toml"), &env).expect("valid");
    assert_eq!(c.canaries.dir, Path::new("/srv/app/canaries"));
    assert_eq!((c.canaries.repeat, c.canaries.every), (3, None));
    assert!(
        !c.limits.count_canaries_in_cost,
        "outside cost limits by default"
    );
    let with = |canaries: &str| format!("{GOOD}\n[canaries]\n{canaries}\n");
    let c = parse(
        &with("dir = \"goldens\"\nevery = \"6h\"\nembedding_route = \"chat\"\ncount_in_budgets = true"),
        Path::new("/srv/app/seam.toml"),
        &env,
    )
    .expect("valid");
    assert_eq!(c.canaries.dir, Path::new("/srv/app/goldens"));
    assert_eq!(c.canaries.every, Some(Duration::from_secs(6 * 3600)));
    assert_eq!(c.canaries.embedding_route.as_deref(), Some("chat"));
    assert!(c.limits.count_canaries_in_cost);
    assert!(
        !c.limits.count_evals_in_cost,
        "each kind of traffic has its own setting"
    );
    let e = parse(
        &with("repeat = 50\nevery = \"5\"\nembedding_route = \"embed\"\non_deploy = true"),
        Path::new("s.toml"),
        &env,
    )
    .expect_err("bad canaries");
    let msg = e.to_string();
    for key in [
        "canaries.repeat: 50 is out of range",
        "canaries.every: `5` is not a duration",
        "canaries.embedding_route: route `embed` is not in the config",
    ] {
        assert!(msg.contains(key), "{key}: {msg}");
    }
    let e = parse(&with("schedule = \"6h\""), Path::new("s.toml"), &env).expect_err("unknown");
    assert!(e.to_string().contains("unknown field `schedule`"), "{e}");
}

#[test]
fn a_relative_sqlite_store_follows_the_config_file() {
    let with = |url: &str| {
        let text = GOOD.replace("url = \"sqlite://seam.db\"", &format!("url = \"{url}\""));
        parse(&text, Path::new("/etc/seam/seam.toml"), &env)
            .expect("valid")
            .store
            .url
    };
    assert_eq!(with("sqlite://seam.db"), "sqlite:///etc/seam/seam.db");
    assert_eq!(
        with("sqlite:data/seam.db?mode=rwc"),
        "sqlite:///etc/seam/data/seam.db?mode=rwc"
    );
    assert_eq!(
        with("sqlite:///var/lib/seam.db"),
        "sqlite:///var/lib/seam.db"
    );
    assert_eq!(with("sqlite::memory:"), "sqlite::memory:");
    assert_eq!(
        with("postgres://seam@127.0.0.1:5432/seam"),
        "postgres://seam@127.0.0.1:5432/seam"
    );
}

#[test]
fn a_providers_largest_stream_event_has_a_default_and_a_range() {
    let c = parse(GOOD, Path::new("s.toml"), &env).expect("valid");
    assert_eq!(
        c.providers[0].max_event_bytes,
        crate::validate::DEFAULT_MAX_EVENT_BYTES
    );
    assert_eq!(crate::validate::DEFAULT_MAX_EVENT_BYTES, 4 * 1024 * 1024);
    let with = |n: &str| {
        GOOD.replace(
            "api_key_env = \"LOCAL_KEY\"",
            &format!("api_key_env = \"LOCAL_KEY\"\nmax_event_bytes = {n}"),
        )
    };
    let c = parse(&with("65536"), Path::new("s.toml"), &env).expect("valid");
    assert_eq!(c.providers[0].max_event_bytes, 65536);
    for bad in ["0", "1023", "1073741825"] {
        let e = parse(&with(bad), Path::new("s.toml"), &env).expect_err(bad);
        assert!(
            e.to_string().contains(&format!(
                "providers[0] (local): max_event_bytes must be between 1024 (1 KiB) and 1073741824 (1 GiB), not {bad}"
            )),
            "{e}"
        );
    }
}

#[test]
fn whether_a_provider_speaks_the_responses_api() {
    let c = parse(GOOD, Path::new("s.toml"), &env).expect("valid");
    assert!(c.providers[0].responses, "openai providers do by default");
    let with = |kind: &str, v: &str| {
        GOOD.replace(
            "kind = \"openai\"",
            &format!("kind = \"{kind}\"\nresponses = {v}"),
        )
    };
    let c = parse(&with("openai", "false"), Path::new("s.toml"), &env).expect("valid");
    assert!(!c.providers[0].responses);
    let c = parse(
        &GOOD.replace("kind = \"openai\"", "kind = \"anthropic\""),
        Path::new("s.toml"),
        &env,
    )
    .expect("valid");
    assert!(!c.providers[0].responses, "anthropic never does");
    let e = parse(&with("anthropic", "true"), Path::new("s.toml"), &env).expect_err("anthropic");
    assert!(
        e.to_string().contains(
            "providers[0] (local): responses = true does not apply to kind = \"anthropic\""
        ),
        "{e}"
    );
    parse(&with("openai", "\"no\""), Path::new("s.toml"), &env).expect_err("not a bool");
}

#[test]
fn server_timeouts_and_the_connection_cap_have_defaults_and_must_be_positive() {
    let c = parse(GOOD, Path::new("s.toml"), &env).expect("valid");
    assert_eq!(c.server.header_timeout, Duration::from_secs(10));
    assert_eq!(c.server.body_timeout, Duration::from_secs(60));
    assert_eq!(c.server.idle_timeout, Duration::from_secs(75));
    assert_eq!(
        c.server.max_connections, None,
        "derived from the open-file limit"
    );
    let with = |keys: &str| GOOD.replace("[server]\n", &format!("[server]\n{keys}\n"));
    let c = parse(
        &with("header_timeout_ms = 500\nbody_timeout_ms = 2000\nidle_timeout_secs = 5\nmax_connections = 64"),
        Path::new("s.toml"),
        &env,
    )
    .expect("valid");
    assert_eq!(c.server.header_timeout, Duration::from_millis(500));
    assert_eq!(c.server.body_timeout, Duration::from_secs(2));
    assert_eq!(c.server.idle_timeout, Duration::from_secs(5));
    assert_eq!(c.server.max_connections, Some(64));
    let e = parse(
        &with("header_timeout_ms = 0\nbody_timeout_ms = 0\nidle_timeout_secs = 0\nmax_connections = 0"),
        Path::new("s.toml"),
        &env,
    )
    .expect_err("zeros");
    assert_eq!(e.problems.len(), 4, "{e}");
    for key in [
        "server.header_timeout_ms",
        "server.body_timeout_ms",
        "server.idle_timeout_secs",
        "server.max_connections",
    ] {
        assert!(
            e.problems
                .iter()
                .any(|p| p.starts_with(key) && p.contains("must be greater than 0")),
            "{key}: {e}"
        );
    }
}

#[test]
fn a_route_named_like_a_prompt_is_refused() {
    let text = format!(
        "{GOOD}\n[[routes]]\nname = \"prompt:x\"\ntargets = [{{ provider = \"local\", model = \"m\" }}]\n"
    );
    let e = parse(&text, Path::new("s.toml"), &env).expect_err("unreachable route");
    assert_eq!(e.problems.len(), 1, "{e}");
    assert!(
        e.problems[0].starts_with("routes[1] (prompt:x): a route name cannot start with `prompt:`"),
        "{e}"
    );
    let e = parse(
        &text.replace("prompt:x", "release:x"),
        Path::new("s.toml"),
        &env,
    )
    .expect_err("unreachable route");
    assert!(
        e.problems[0]
            .starts_with("routes[1] (release:x): a route name cannot start with `release:`"),
        "{e}"
    );
}

#[test]
fn secrets_never_print() {
    let c = parse(GOOD, Path::new("seam.toml"), &env).expect("valid");
    let debug = format!("{c:?}");
    assert!(!debug.contains("sk-local"), "{debug}");
}

#[test]
fn a_webhook_secret_must_be_set_and_never_prints() {
    let text = format!(
        "{GOOD}\n[[notify.webhooks]]\nurl = \"https://hooks.example.com/seam\"\n\
         secret_env = \"HOOK_SECRET\"\nevents = [\"canary_failed\", \"canary_recovered\"]\n"
    );
    let e = parse(&text, Path::new("s.toml"), &env).expect_err("unset secret");
    assert_eq!(
        e.problems,
        [
            "notify.webhooks[0].secret_env: the environment variable `HOOK_SECRET` is not set (or is empty)"
        ]
    );
    let with_secret = |name: &str| match name {
        "HOOK_SECRET" => Some("whsec-visible-nowhere".to_string()),
        other => env(other),
    };
    let c = parse(&text, Path::new("s.toml"), &with_secret).expect("valid");
    assert_eq!(c.notify.webhooks.len(), 1);
    let debug = format!("{c:?}");
    assert!(!debug.contains("whsec-visible-nowhere"), "{debug}");
}

mod example {
    #[test]
    fn the_annotated_example_is_valid() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seam.toml");
        let c = crate::load(&path, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.routes.len(), 2);
        // Its [audit] is commented out: nothing is anchored beside a copied example.
        assert!(!c.audit.anchors());
        // Its [calendar] is commented out: the example is often copied without examples/calendar.
        assert_eq!(c.calendar.holidays.len(), 0);
    }

    #[test]
    fn the_example_calendar_is_valid_uncommented() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seam.toml");
        let text = std::fs::read_to_string(&path).expect("the example");
        let block: String = text
            .lines()
            .skip_while(|l| *l != "# [calendar]")
            .take_while(|l| l.starts_with("# "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        assert!(block.contains("tenants = [\"acme\"]"), "{block}");
        let c = crate::parse(&format!("{text}\n{block}"), &path, &|_| None)
            .unwrap_or_else(|e| panic!("{e}"));
        // The shipped file: Christmas–New Year every year from 2023/24 to 2028/29, and the
        // inline entry, acme's only.
        let xmas = |t| {
            c.calendar
                .periods_for(t)
                .filter(|p| p.0 == "Christmas–New Year")
                .count()
        };
        assert_eq!((xmas("acme"), xmas("other")), (6, 6));
        assert_eq!(c.calendar.periods_for("acme").count(), 20);
        assert_eq!(c.calendar.periods_for("other").count(), 19);
    }

    #[test]
    fn the_example_webhook_is_valid_uncommented() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seam.toml");
        let text = std::fs::read_to_string(&path).expect("the example");
        let block: String = text
            .lines()
            .skip_while(|l| *l != "# [[notify.webhooks]]")
            .take_while(|l| l.starts_with("# "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        assert!(block.contains("max_attempts"), "{block}");
        let env = |name: &str| (name == "SEAM_WEBHOOK_SECRET").then(|| "s".to_string());
        let c = crate::parse(&format!("{text}\n{block}"), &path, &env)
            .unwrap_or_else(|e| panic!("{e}"));
        let w = &c.notify.webhooks[0];
        assert_eq!((w.events.len(), w.max_attempts), (2, 4));
    }
}
