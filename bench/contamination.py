"""What the contamination guard costs at the issue's scale (docs/evals.md "Contamination guard").

10,000 eval cases (60-word inputs, 30-word expected outputs, words from a 5,000-word
vocabulary) in one dataset; a 20 KB "release" (eight 420-word messages, two cases pasted in)
as a one-line JSON-lines file. Timed, whole `seam eval contamination` process, median of
rounds: (a) against a one-line file of three words: reading the dataset, indexing it and
nothing to check; (b) against the 20 KB file: the same plus the check. (b) - (a) is the check.
The guard's own figures without the process (index build, check) come from
`cargo test -p seam-evals --test contamination_scale -- --ignored --nocapture`.

Needs the release binary (target/release/seam); only files, no network. Writes
bench/results/<date>-contamination.md.
"""

import argparse
import datetime
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, SEAM, machine

CASES = 10_000


def text(rng: random.Random, words: int) -> str:
    return " ".join(f"w{rng.randrange(5000)}" for _ in range(words))


def timed(args) -> float:
    start = time.monotonic()
    out = subprocess.run(args, capture_output=True, text=True)
    took = time.monotonic() - start
    if out.returncode not in (0, 1):  # 1: cases found, as expected for the 20 KB file
        sys.exit(f"{args}: {out.stderr}")
    return took


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out")
    args = p.parse_args()
    rng = random.Random(26)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "evals").mkdir()
        cases = [
            {"id": f"c{i}", "input": {"messages": [{"role": "user", "content": text(rng, 60)}]}, "expected": text(rng, 30)}
            for i in range(CASES)
        ]
        (tmp / "evals" / "scale.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
        messages = [text(rng, 420) for _ in range(8)]
        messages[3] += " " + cases[77]["input"]["messages"][0]["content"]
        messages[5] += " " + cases[4242]["expected"]
        release = json.dumps({"messages": [{"role": "user", "content": m} for m in messages]})
        (tmp / "release.jsonl").write_text(release + "\n")
        (tmp / "tiny.jsonl").write_text('{"text": "three words here"}\n')
        base = [str(SEAM), "eval", "contamination", "--dir", str(tmp / "evals"), "--config", str(tmp / "none.toml")]
        empty, full = [], []
        for _ in range(args.rounds):
            empty.append(timed(base + ["--against", str(tmp / "tiny.jsonl")]))
            full.append(timed(base + ["--against", str(tmp / "release.jsonl")]))
        size = len(release)
    lines = [
        f"# Contamination guard, {datetime.date.today()}",
        "",
        f"Machine: {machine()}. {CASES:,} cases; a {size:,}-byte release; {args.rounds} rounds, medians.",
        "",
        "| `seam eval contamination` | wall (s) |",
        "|---|---|",
        f"| against 3 words: read, index | {statistics.median(empty):.3f} |",
        f"| against the release: read, index, check | {statistics.median(full):.3f} |",
        f"| the check (difference) | {statistics.median(full) - statistics.median(empty):.3f} |",
        "",
        "Targets (issue 26): the index of 10,000 cases under 5 s, a 20 KB release checked under 1 s.",
        "",
    ]
    out_text = "\n".join(lines)
    print(out_text)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{datetime.date.today()}-contamination.md"
    out.write_text(out_text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
