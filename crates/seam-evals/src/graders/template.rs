//! Templates of the model graders (a judge's rubric prompt, the OpenAI graders' `{{ item.x }}`
//! and `{{ sample.output_text }}`): MiniJinja, strict about undefined values, bounded in work.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// MiniJinja fuel for one render: a template looping over a long answer stops, an error.
const FUEL: u64 = 1_000_000;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// Whether `source` compiles; the error says why not.
pub(crate) fn check(source: &str) -> Result<(), String> {
    env()
        .template_from_str(source)
        .map(|_| ())
        .map_err(|e| format!("the template does not compile: {e}"))
}

/// `source` rendered with `context` (an object).
pub(crate) fn render(source: &str, context: &Value) -> Result<String, String> {
    let env = env();
    let ctx = minijinja::Value::from(minijinja::value::Serde(context));
    env.template_from_str(source)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("the template does not render: {e}"))
}

pub(crate) fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_strictly_and_bounded() {
        assert_eq!(
            render("{{ item.a }}!", &json!({"item": {"a": 1}})).unwrap(),
            "1!"
        );
        let e = render("{{ item.b }}", &json!({"item": {"a": 1}})).unwrap_err();
        assert!(e.contains("undefined"), "{e}");
        assert!(check("{% if %}").is_err());
        let e = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(e.contains("fuel"), "{e}");
    }
}
