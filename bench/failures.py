"""What finding silent failures costs at the issue's scale (docs/failures.md): 100,000 calls
with captured content in a SQLite store (seam_signals' generated corpus: chats and agent traces
with planted rephrases, regenerates, abandons, loops and tool errors, plus sessions on planted
failure modes), then, timed as whole processes with /usr/bin/time: `seam failures` (scans the
period and the one before, stores the flags, counts) and `seam coverage` (scans, clusters the
flagged calls' user turns, matches them to a dataset). Target: each under 60 s and 1 GB.

Needs the release binary (bench/run builds it). Writes bench/results/<date>-failures.md.
"""

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import ROOT, SEAM, machine


def timed(args, env=None):
    out = subprocess.run(["/usr/bin/time", "-v", *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{args}: {out.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return secs, rss_kb / 1024, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "seam.db"
        url = f"sqlite://{db}"
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "seam-control", "--example", "failures_corpus"],
                       cwd=ROOT, check=True)
        filled = subprocess.run([ROOT / "target/release/examples/failures_corpus", url, str(a.calls)],
                                capture_output=True, text=True, check=True)
        info = json.loads(filled.stdout)
        since = f"{info['since_days']}d"
        dataset = Path(tmp) / "cases.jsonl"
        dataset.write_text("".join(
            json.dumps({"id": f"c{i}", "input": {"messages": [{"role": "user", "content": q}]}}) + "\n"
            for i, q in enumerate(["how do i reset my password", "how do i cancel my subscription",
                                   "customer had to pay customs fees on delivery of an international order",
                                   "exported csv file shows garbled accented characters when opened in excel"])))
        base = [str(SEAM), "--store", url]
        f_secs, f_rss, f_out = timed([*base[:1], "failures", "--since", since, "--json", *base[1:]])
        c_secs, c_rss, c_out = timed([*base[:1], "coverage", "--since", since, "--dataset", str(dataset), "--json",
                                      *base[1:]])
        failures = json.loads(f_out)
        coverage = json.loads(c_out)
    rows = [
        ("seam failures (two periods scanned, flags stored, counted)", f_secs, f_rss),
        ("seam coverage (scanned, flagged turns clustered, matched)", c_secs, c_rss),
    ]
    today = datetime.date.today().isoformat()
    out = ROOT / "bench" / "results" / f"{today}-failures.md"
    lines = [
        f"# Silent failures at 100k calls ({today})",
        "",
        f"Machine: {machine()}. `bench/run failures`: {info['calls']:,} calls with captured content "
        f"over {info['since_days']} days in SQLite; each command timed whole (process start, store "
        "reads, scan, clustering, output) by /usr/bin/time, one run each.",
        "",
        "| command | wall | peak RSS |",
        "| --- | --- | --- |",
        *[f"| {name} | {s:.1f} s | {rss:.0f} MiB |" for name, s, rss in rows],
        "",
        f"Scanned {failures['scanned']['calls']:,} calls in the period ({failures['scanned']['coverage']['text_turns']:,} "
        f"with text), flags by signal: {failures['scanned']['by_signal']}.",
        f"Coverage: {coverage['flagged_calls']:,} flagged calls, {coverage['flagged_with_text']:,} with text clustered "
        f"into {len(coverage['clusters'])} clusters of {coverage['scanned']['calls']:,} scanned calls "
        f"(+{coverage['small_clusters']} small ones), covered share {coverage['covered_share']:.1%}.",
        "",
    ]
    with open(out, "a") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
