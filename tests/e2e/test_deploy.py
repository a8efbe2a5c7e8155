"""The files under deploy/: the Grafana dashboard and the Prometheus alert rules.

promtool (Debian's `prometheus` package; scripts/test installs it and sets
SEAM_REQUIRE_PROMTOOL=1) checks the rules, runs their unit tests and parses every dashboard
query; a running gateway's /metrics, after some traffic, must serve every metric they name,
with every label they filter or group by.
"""

import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from openai import APIStatusError, OpenAI

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "seam.json"
RULES = ROOT / "deploy" / "prometheus" / "seam-alerts.yml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "seam-alerts.test.yml"

# Labels Prometheus adds to every scraped series, and the histogram bucket label.
SCRAPE_LABELS = {"instance", "job", "le"}
METRIC = re.compile(r"\b((?:seam|gen_ai)_[a-z0-9_]+)\b(\{[^}]*\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"([^"]*)"')
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def promtool():
    path = shutil.which("promtool")
    if path:
        return path
    if os.environ.get("SEAM_REQUIRE_PROMTOOL") == "1":
        pytest.fail("promtool is not installed (Debian: apt-get install prometheus)")
    pytest.skip("promtool is not installed (Debian: apt-get install prometheus); scripts/test installs it")


def dashboard_queries():
    d = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
    exprs += [a["expr"] for a in d["annotations"]["list"] if "expr" in a]
    exprs += [v["query"]["query"] for v in d["templating"]["list"] if isinstance(v.get("query"), dict)]
    return exprs


def rule_exprs():
    return [m.group(1) for m in re.finditer(r"^\s*expr:\s*(.+)$", RULES.read_text(), re.M)]


def as_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables filled in, as Prometheus would get it."""
    for var, value in {"$__rate_interval": "5m", "$instance": ".*", "$route": ".*"}.items():
        expr = expr.replace(var, value)
    return expr


def test_the_alert_rules_pass_promtool_and_their_unit_tests():
    tool = promtool()
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULES_TEST)]):
        out = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr


def test_every_dashboard_query_is_valid_promql(tmp_path):
    tool = promtool()
    queries = [q for q in dashboard_queries() if not q.startswith("label_values(")]
    assert len(queries) > 20
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, q in enumerate(queries):
        lines += [f"      - record: seam:dashboard_query:{i}", f"        expr: {json.dumps(as_promql(q))}"]
    rules = tmp_path / "dashboard-queries.yml"
    rules.write_text("\n".join(lines) + "\n")
    out = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_dashboard_is_well_formed():
    d = json.loads(DASHBOARD.read_text())
    assert d["uid"] and d["title"] == "Seam"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    defined = {v["name"] for v in d["templating"]["list"]}
    text = DASHBOARD.read_text()
    used = set(re.findall(r"\$\{?([a-z_]+)", text)) - {"__rate_interval"}
    assert used <= defined, f"undefined variables: {used - defined}"
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["targets"] and p["description"], p["title"]
            assert p["datasource"]["uid"] == "${datasource}", p["title"]


def parse_metrics(text: str):
    """name -> list of label dicts, from Prometheus text format."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        assert m, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        series.setdefault(m.group(1), []).append(labels)
    return series


def traffic(stack):
    """A plain call, a stream and a failed call on `chat` (other tests count the calls of the
    other routes); the series of retries, refusals and drops exist at 0 without traffic."""
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello"}])
    for _ in c.chat.completions.create(
        model="chat", stream=True, messages=[{"role": "user", "content": "one two three four five six"}]
    ):
        pass
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 503\nrate = 1.0\n')
    with pytest.raises(APIStatusError):
        c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "fail"}])


@pytest.mark.usefixtures("default_scenario")
def test_every_metric_and_label_the_dashboard_and_alerts_name_is_served(stack):
    traffic(stack)
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.gw_port}/metrics", timeout=5) as r:
        served = parse_metrics(r.read().decode())
    problems = []
    sources = [("dashboard", q) for q in dashboard_queries()] + [("alerts", e) for e in rule_exprs()]
    # Metrics named in the alerts' descriptions (what to look at next) exist too.
    sources.append(("alerts (text)", RULES.read_text()))
    for where, expr in sources:
        names = set()
        for m in METRIC.finditer(expr):
            name, selector = m.group(1), m.group(2) or ""
            names.add(name)
            if name not in served:
                problems.append(f"{where}: {name} is not in /metrics")
                continue
            for label, op, value in MATCHER.findall(selector):
                if label in SCRAPE_LABELS:
                    continue
                if not any(label in s for s in served[name]):
                    problems.append(f"{where}: {name} has no label {label}")
                elif op == "=" and "$" not in value and not any(s.get(label) == value for s in served[name]):
                    problems.append(f'{where}: no series {name}{{{label}="{value}"}}')
        if where == "alerts (text)":
            continue
        for group in BY.findall(expr):
            for label in (l.strip() for l in group.split(",") if l.strip()):
                if label not in SCRAPE_LABELS and not any(
                    label in s for n in names if n in served for s in served[n]
                ):
                    problems.append(f"{where}: no metric of `{expr}` has the label {label}")
    assert not problems, "\n".join(problems)
