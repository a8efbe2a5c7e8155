#!/usr/bin/env python3
"""PostgreSQL's monthly record partitions at scale (issue 23): N calls generated in an old
month, then

- `seam calls --since 1h` with them present (and before they were, for comparison);
- what a million calls take on disk (tables and each index, from PostgreSQL's own sizes);
- dropping the month: detach and drop of its four partitions, the statements Seam's retention
  round runs (sql/partitions.rs: drop_expired);
- converting an existing store (migration 16 on a schema at version 15 with M calls).

Runs in schemas of its own in the database given (default: the test database on loopback),
dropped at the end unless --keep. Prints a Markdown table; `bench/partitions` writes it to
bench/results/. Uses psql and a built `seam` (debug unless --seam says otherwise).
"""

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ["calls", "attempts", "streams", "contents"]
DAY_MS = 86_400_000


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Db:
    def __init__(self, base, schema):
        self.base = base
        self.schema = schema
        sep = "&" if "?" in base else "?"
        self.url = f"{base}{sep}options=-c%20search_path%3D{schema}"

    def psql(self, sql, url=None, timing=False):
        """Runs SQL in one session; returns (stdout, [ms per statement] when timing)."""
        script = ("\\timing on\n" if timing else "") + sql
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url or self.url],
            input=script,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise SystemExit(f"psql failed: {out.stderr.strip()}\n--- SQL ---\n{sql[:2000]}")
        times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out.stdout, re.M)]
        text = re.sub(r"^Time: .*$\n?", "", out.stdout, flags=re.M)
        return text.strip(), times

    def value(self, sql):
        return self.psql(sql)[0].splitlines()[0]


def month_start(year, month):
    return int(dt.datetime(year, month, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)


def months_back(now, n):
    y, m = now.year, now.month - n
    while m <= 0:
        m += 12
        y -= 1
    return y, m


def next_month(y, m):
    return (y + 1, 1) if m == 12 else (y, m + 1)


def generate(db, first, last, start_ms, span_ms, total, label):
    """Calls first..last (of `total`) spread over [start_ms, start_ms + span_ms), as the
    gateway records them: a call's sole attempt in its row, every 33rd call retried (two
    attempts rows, none in its row), every other call streamed (a streams row), every 20th in a
    named trace. Ids are time-ordered like the gateway's UUIDv7 ids."""
    src = f"""
      SELECT g,
        {start_ms}::bigint + (g::bigint * {span_ms}::bigint / {total}::bigint) AS ms,
        'call_' || lpad(to_hex({start_ms}::bigint + (g::bigint * {span_ms}::bigint / {total}::bigint)), 12, '0')
          || substr(md5('{label}' || g::text), 1, 20) AS id,
        (g % 33 = 0) AS retried,
        (g % 2 = 0) AS streamed
      FROM generate_series({first}, {last}) AS g"""
    calls = f"""
    INSERT INTO calls (id, created_ms, tenant, key_id, trace_id, session_id, endpoint, route,
      stream, requested_model, provider, served_model, system_fingerprint, status, outcome,
      error_class, error_message, attempts, latency_ms, ttfb_ms, input_tokens, output_tokens,
      cost_usd, tokens_estimated, budget_exhausted, attempt_model, attempt_created_ms,
      attempt_status, attempt_outcome, attempt_error_class, attempt_error_body,
      attempt_latency_ms, attempt_ttfb_ms, release_id, unpriced, upstream_request_id)
    SELECT id, ms, 'tenant-' || (g % 20), 'key_' || substr(md5('k' || (g % 300)), 1, 16),
      CASE WHEN g % 20 = 0 THEN md5('trace' || (g / 4)) ELSE id END,
      NULL, 'chat.completions', 'route-' || (g % 6), streamed::int, 'gpt-4.1-mini', 'openai',
      'gpt-4.1-mini-2025-04-14', 'fp_' || substr(md5('fp' || (g / 100000)), 1, 10), 200, 'ok',
      NULL, NULL, CASE WHEN retried THEN 2 ELSE 1 END, 300 + (g % 2700), 120 + (g % 900),
      200 + (g % 1800), 50 + (g % 750), (200 + (g % 1800)) * 0.0000004 + (50 + (g % 750)) * 0.0000016,
      0, 0,
      CASE WHEN retried THEN NULL ELSE 'gpt-4.1-mini' END,
      CASE WHEN retried THEN NULL ELSE ms + 1 END,
      CASE WHEN retried THEN NULL ELSE 200 END,
      CASE WHEN retried THEN NULL ELSE 'ok' END,
      NULL, NULL,
      CASE WHEN retried THEN NULL ELSE 300 + (g % 2700) - 2 END,
      CASE WHEN retried THEN NULL ELSE 120 + (g % 900) END,
      NULL, 0, 'req_' || md5('r' || g::text)
    FROM ({src}) s;"""
    attempts = f"""
    INSERT INTO attempts (id, call_id, seq, created_ms, tenant, trace_id, route, provider, model,
      served_model, system_fingerprint, status, outcome, error_class, error_body, latency_ms,
      ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, unpriced,
      upstream_request_id)
    SELECT 'att_' || substr(id, 6) || '_' || seq, id, seq, ms + (seq - 1) * 900,
      'tenant-' || (g % 20), CASE WHEN g % 20 = 0 THEN md5('trace' || (g / 4)) ELSE id END,
      'route-' || (g % 6), 'openai', 'gpt-4.1-mini',
      CASE WHEN seq = 2 THEN 'gpt-4.1-mini-2025-04-14' END,
      CASE WHEN seq = 2 THEN 'fp_' || substr(md5('fp' || (g / 100000)), 1, 10) END,
      CASE WHEN seq = 1 THEN 503 ELSE 200 END, CASE WHEN seq = 1 THEN 'error' ELSE 'ok' END,
      CASE WHEN seq = 1 THEN 'status_5xx' END,
      CASE WHEN seq = 1 THEN '{{"error":{{"message":"The server is overloaded","type":"server_error"}}}}' END,
      CASE WHEN seq = 1 THEN 850 ELSE 300 + (g % 2700) END, CASE WHEN seq = 2 THEN 120 + (g % 900) END,
      200 + (g % 1800), CASE WHEN seq = 2 THEN 50 + (g % 750) ELSE 0 END, 0.0004, 0, 0,
      'req_' || md5('r' || g::text || seq)
    FROM ({src}) s, (VALUES (1), (2)) AS v(seq) WHERE retried;"""
    streams = f"""
    INSERT INTO streams (call_id, created_ms, route, provider, served_model, ttfc_ms, ttft_ms,
      chunks, content_chunks, chars, chars_p50, tokens_per_chunk, gap_p50_ms, gap_p95_ms,
      gap_max_ms, stalls, output_tokens, tokens_per_sec, client_closed, rechunked, slo)
    SELECT id, ms, 'route-' || (g % 6), 'openai', 'gpt-4.1-mini-2025-04-14', 120 + (g % 900),
      125 + (g % 900), 60 + (g % 700), 55 + (g % 700), 200 + (g % 3000), 4, 1.1, 18, 45,
      120 + (g % 400), 0, 50 + (g % 750), 48.5, 0, 0, NULL
    FROM ({src}) s WHERE streamed;"""
    return calls + attempts + streams


def seam(binary, *args, env=None):
    started = time.perf_counter()
    out = subprocess.run([binary, *args], capture_output=True, text=True, env=env)
    took = (time.perf_counter() - started) * 1000
    if out.returncode != 0:
        raise SystemExit(f"seam {' '.join(args)} failed: {out.stderr.strip()}")
    return took, out


def calls_since(binary, db, runs=9):
    env = dict(os.environ, SEAM_STORE=db.url)
    env.pop("SEAM_TOKEN", None)
    times, out = [], None
    for _ in range(runs):
        took, out = seam(binary, "calls", "--since", "1h", env=env)
        times.append(took)
    shown = len([l for l in out.stdout.splitlines() if re.search(r"\scall_[0-9a-f]+\s", l)])
    return statistics.median(times), min(times), shown


def sizes(db, tables):
    """Heap (with TOAST) and each index of each relation, in bytes."""
    out = {}
    for t in tables:
        heap = int(db.value(f"SELECT pg_table_size('{t}')"))
        rows, _ = db.psql(
            f"SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            f"WHERE x.indrelid = '{t}'::regclass ORDER BY 1"
        )
        idx = [(r.split("|")[0], int(r.split("|")[1])) for r in rows.splitlines() if r]
        out[t] = (heap, idx)
    return out


BATCH = 2_000


def delete_batch_sql(ids, before_ms):
    """The statements of one retention batch, as sql/retention.rs issues them (ids inline)."""
    within = ", ".join(f"'{i}'" for i in ids)
    return "".join(
        f"DELETE FROM {t} WHERE call_id IN ({within});\n" for t in ("attempts", "streams", "contents")
    ) + f"DELETE FROM calls WHERE created_ms < {before_ms} AND id IN ({within});\n"


def pg_batches(db, before_ms, n):
    """Times (ms) of `n` batches deleting the oldest calls before `before_ms`, each in its own
    transaction: the select of the batch, then the four deletes."""
    times = []
    pick = f"SELECT id FROM calls WHERE created_ms < {before_ms} ORDER BY created_ms LIMIT {BATCH};\n"
    for _ in range(n):
        ids, _ = db.psql(pick)
        ids = ids.splitlines()
        _, t = db.psql("BEGIN;\n" + pick + delete_batch_sql(ids, before_ms) + "COMMIT;\n", timing=True)
        times.append(sum(t))
    return times


def sqlite_batches(binary, rows, n):
    """SQLite: a store of `rows` calls (as generated for PostgreSQL, in SQLite's SQL), then
    `n` retention batches timed, each a write transaction as the store runs it."""
    import sqlite3
    import tempfile

    tmp = tempfile.mkdtemp(prefix="seam-bench-")
    path = os.path.join(tmp, "seam.db")
    seam(binary, "migrate", "--store", f"sqlite://{path}")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    start = month_start(2026, 1)
    started = time.perf_counter()
    con.execute("BEGIN")
    con.execute(f"""
      INSERT INTO calls (id, created_ms, tenant, key_id, trace_id, endpoint, route, stream,
        requested_model, provider, served_model, system_fingerprint, status, outcome, attempts,
        latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated,
        budget_exhausted, attempt_model, attempt_created_ms, attempt_status, attempt_outcome,
        attempt_latency_ms, attempt_ttfb_ms, unpriced, upstream_request_id)
      WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows})
      SELECT id, ms, 'tenant-' || (x % 20), 'key_' || (x % 300), CASE WHEN x % 20 = 0 THEN 'trace' || (x / 4) ELSE id END,
        'chat.completions', 'route-' || (x % 6), x % 2, 'gpt-4.1-mini', 'openai', 'gpt-4.1-mini-2025-04-14',
        'fp_6f2eabb9a5', 200, 'ok', 1, 300 + (x % 2700), 120 + (x % 900), 200 + (x % 1800), 50 + (x % 750),
        0.0004, 0, 0, 'gpt-4.1-mini', ms + 1, 200, 'ok', 298 + (x % 2700), 120 + (x % 900), 0,
        'req_' || lower(hex(randomblob(16)))
      FROM (SELECT x, {start} + x * 250 AS ms, 'call_' || printf('%012x', {start} + x * 250) || lower(hex(randomblob(10))) AS id FROM g)""")
    con.execute(f"""
      INSERT INTO streams (call_id, created_ms, route, provider, served_model, ttfc_ms, ttft_ms, chunks,
        content_chunks, chars, chars_p50, tokens_per_chunk, gap_p50_ms, gap_p95_ms, gap_max_ms, stalls,
        output_tokens, tokens_per_sec, client_closed, rechunked)
      SELECT id, created_ms, route, provider, served_model, 120, 125, 60, 55, 200, 4, 1.1, 18, 45, 120, 0,
        output_tokens, 48.5, 0, 0 FROM calls WHERE stream = 1""")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    gen = time.perf_counter() - started
    size = os.path.getsize(path)
    before_ms = start + rows * 250 + 1
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        ids = [r[0] for r in con.execute(
            f"SELECT id FROM calls WHERE created_ms < ? ORDER BY created_ms LIMIT {BATCH}", (before_ms,))]
        for stmt in delete_batch_sql(ids, before_ms).splitlines():
            con.execute(stmt)
        con.execute("COMMIT")
        times.append((time.perf_counter() - t0) * 1000)
    con.close()
    subprocess.run(["rm", "-rf", tmp])
    return gen, size, times


def file_removal(url):
    """How long removing a 1 GiB file takes on the filesystem of PostgreSQL's data directory
    (what dropping a table costs beyond PostgreSQL's own work), and its mount options; None
    when the data directory is not on this machine."""
    if "127.0.0.1" not in url and "localhost" not in url:
        return None, None
    out = subprocess.run(["psql", "-X", "-A", "-t", "-c", "SHOW data_directory", url],
                         capture_output=True, text=True)
    data = out.stdout.strip()
    if out.returncode != 0 or not os.path.isdir(data):
        return None, None
    target = subprocess.run(["df", "--output=target", data], capture_output=True, text=True).stdout.split()[-1]
    opts = next((l.split()[3] for l in open("/proc/mounts") if l.split()[1] == target), "?")
    fstype = next((l.split()[2] for l in open("/proc/mounts") if l.split()[1] == target), "?")
    path = os.path.join(os.path.dirname(data.rstrip("/")), "seam-bench-removal")
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=1024", "conv=fsync",
                        "status=none"], check=True)
        started = time.perf_counter()
        os.remove(path)
        return (time.perf_counter() - started) * 1000, f"{fstype} ({opts})"
    except (OSError, subprocess.CalledProcessError):
        return None, None


def mib(b):
    return f"{b / 1048576:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000, help="calls in the old month")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="calls per INSERT")
    ap.add_argument("--recent", type=int, default=20_000, help="calls in the last hour")
    ap.add_argument("--convert-rows", type=int, default=1_000_000,
                    help="calls in the store migration 16 converts (0: skip)")
    ap.add_argument("--url", default=os.environ.get(
        "SEAM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--seam", default=str(ROOT / "target/debug/seam"))
    ap.add_argument("--batches", type=int, default=25, help="retention batches timed")
    ap.add_argument("--sqlite-rows", type=int, default=1_000_000,
                    help="calls in the SQLite store whose retention batches are timed (0: skip)")
    ap.add_argument("--keep", action="store_true", help="keep the schemas")
    a = ap.parse_args()

    db = Db(a.url, "seam_bench_partitions")
    db.psql(f"DROP SCHEMA IF EXISTS {db.schema} CASCADE; CREATE SCHEMA {db.schema};", url=a.url)
    took, _ = seam(a.seam, "migrate", "--store", db.url)
    log(f"a new store migrated in {took:.0f} ms")
    version = db.value("SELECT MAX(version) FROM schema_migrations")

    now = dt.datetime.now(dt.timezone.utc)
    now_ms = int(now.timestamp() * 1000)
    y, m = months_back(now, 6)
    ny, nm = next_month(y, m)
    start, end = month_start(y, m), month_start(ny, nm)
    suffix = f"{y:04d}{m:02d}"
    db.psql("".join(
        f"CREATE TABLE {t}_p{suffix} PARTITION OF {t} FOR VALUES FROM ({start}) TO ({end});\n"
        for t in TABLES))

    # The recent calls first: `seam calls --since 1h` before the old month exists.
    db.psql(generate(db, 1, a.recent, now_ms - 3_600_000 + 60_000, 3_540_000, a.recent, "recent"))
    db.psql("VACUUM ANALYZE calls;")
    base_median, base_min, shown = calls_since(a.seam, db)
    log(f"seam calls --since 1h, {a.recent} recent calls only: {base_median:.0f} ms ({shown} shown)")

    log(f"generating {a.rows:,} calls in {suffix}")
    started = time.perf_counter()
    for first in range(1, a.rows + 1, a.chunk):
        last = min(first + a.chunk - 1, a.rows)
        db.psql(generate(db, first, last, start, end - start - 1, a.rows, "old"))
        log(f"  {last:,} of {a.rows:,} ({time.perf_counter() - started:.0f} s)")
    gen_secs = time.perf_counter() - started
    db.psql("".join(f"VACUUM ANALYZE {t}_p{suffix};\n" for t in TABLES))
    counts = {t: int(db.value(f"SELECT COUNT(*) FROM {t}_p{suffix}")) for t in TABLES}
    log(f"generated in {gen_secs:.0f} s: {counts}")

    part_sizes = sizes(db, [f"{t}_p{suffix}" for t in TABLES[:3]])
    old_median, old_min, shown_old = calls_since(a.seam, db)
    log(f"seam calls --since 1h with {a.rows:,} older calls: {old_median:.0f} ms ({shown_old} shown)")
    limit = 100
    plan, _ = db.psql(
        f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM calls WHERE 1 = 1 AND created_ms >= "
        f"{now_ms - 3_600_000} ORDER BY created_ms DESC, id DESC LIMIT {limit};")
    exec_ms = re.search(r"Execution Time: ([0-9.]+) ms", plan).group(1)
    scanned = sorted(set(re.findall(r"on (calls_\w+)", plan)))

    # The month the cutoff falls in is deleted in batches (sql/retention.rs: delete_expired):
    # the oldest 2,000 calls and everything of them, per transaction.
    batch_ms = pg_batches(db, end, a.batches)
    log(f"PostgreSQL: a batch of {BATCH} calls deleted in {statistics.median(batch_ms):.0f} ms (median of {a.batches})")

    # What a retention round runs to drop the month (sql/partitions.rs: drop_expired): the
    # month's four partitions detached in one transaction (the part that takes the parent
    # tables' locks), then each detached table dropped in its own (its files removed).
    detach_sql = "BEGIN;\nSET LOCAL lock_timeout = '2s';\nSELECT pg_advisory_xact_lock(7474001);\n"
    detach_sql += "".join(f"ALTER TABLE {t} DETACH PARTITION {t}_p{suffix};\n" for t in TABLES)
    detach_sql += "COMMIT;\n"
    _, times = db.psql(detach_sql, timing=True)
    detach_ms = sum(times)
    drop_ms, live = [], []
    for t in TABLES:
        p = f"{t}_p{suffix}"
        out, times = db.psql(
            "BEGIN;\nSET LOCAL lock_timeout = '2s';\n"
            f"SELECT CAST(COALESCE(s.n_live_tup, 0) AS BIGINT), CAST(c.reltuples AS BIGINT) FROM pg_class c "
            f"LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = to_regclass('{p}');\n"
            f"DROP TABLE {p};\nCOMMIT;\n", timing=True)
        drop_ms.append(sum(times))
        live.append(out.split("|")[0])
    log(f"detached {suffix} in {detach_ms:.0f} ms; dropped in {[round(x) for x in drop_ms]} ms; live rows said {live}")
    rm_ms, mount = file_removal(a.url)
    after_median, _, _ = calls_since(a.seam, db)

    convert = None
    if a.convert_rows:
        cdb = Db(a.url, "seam_bench_convert")
        cdb.psql(f"DROP SCHEMA IF EXISTS {cdb.schema} CASCADE; CREATE SCHEMA {cdb.schema};", url=a.url)
        # A store at version 15: the migrations' SQL files, as `seam migrate` of a build
        # before migration 16 applied them.
        files = sorted((ROOT / "crates/seam-store/migrations").glob("00*.sql"))[:15]
        ddl = "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL);\n"
        for i, f in enumerate(files, 1):
            ddl += f.read_text() + f"\nINSERT INTO schema_migrations VALUES ({i}, '{f.stem[5:]}', 0);\n"
        cdb.psql(ddl)
        cy, cm = months_back(now, 2)
        cstart = month_start(cy, cm)
        # Two months of calls, up to now.
        for first in range(1, a.convert_rows + 1, a.chunk):
            last = min(first + a.chunk - 1, a.convert_rows)
            cdb.psql(generate(cdb, first, last, cstart, now_ms - cstart, a.convert_rows, "conv"))
        cdb.psql("VACUUM ANALYZE;")
        ccounts = {t: int(cdb.value(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}
        took, out = seam(a.seam, "migrate", "--store", cdb.url)
        lines = [l for l in out.stderr.splitlines() if l.startswith("migration 16")]
        log(f"converted {ccounts} in {took / 1000:.1f} s")
        convert = (ccounts, took / 1000, lines)
        if not a.keep:
            cdb.psql(f"DROP SCHEMA {cdb.schema} CASCADE;", url=a.url)
    if not a.keep:
        db.psql(f"DROP SCHEMA {db.schema} CASCADE;", url=a.url)

    lite = None
    if a.sqlite_rows:
        lite = sqlite_batches(a.seam, a.sqlite_rows, a.batches)
        log(f"SQLite: a batch of {BATCH} calls deleted in {statistics.median(lite[2]):.0f} ms")

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    pgv = db.value("SHOW server_version")
    per_m = 1_000_000 / a.rows
    print(f"# Partitions benchmark {dt.date.today().isoformat()}\n")
    print(f"Machine: {os.cpu_count()} cores, {cpu}; PostgreSQL {pgv} on the same machine "
          f"(shared_buffers {db.value('SHOW shared_buffers')}, autovacuum {db.value('SHOW autovacuum')}). "
          f"Seam built in debug (`{Path(a.seam).relative_to(ROOT) if a.seam.startswith(str(ROOT)) else a.seam}`), "
          f"schema version {version}.\n")
    print(f"{a.rows:,} calls generated in {suffix} (one INSERT ... SELECT generate_series per "
          f"{a.chunk:,}, {gen_secs:.0f} s, {a.rows / gen_secs:,.0f} calls/s with their rows in the "
          f"other tables): {counts['calls']:,} calls rows, {counts['attempts']:,} attempts rows "
          f"(every 33rd call retried once), {counts['streams']:,} streams rows (every other call "
          f"streamed), no content (capture off). {a.recent:,} more calls in the last hour.\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    part_bytes = sum(h + sum(b for _, b in i) for h, i in part_sizes.values())
    print(f"| drop the month ({a.rows:,} calls, {part_bytes / 2**30:.1f} GiB): detach its 4 partitions, "
          f"one transaction, the only part that takes the tables' locks | {detach_ms:.0f} ms | < 1 s |")
    print(f"| then drop the 4 detached tables, a transaction each (their files removed; nothing else "
          f"waits for them) | {sum(drop_ms):.0f} ms ({', '.join(f'{x:.0f}' for x in drop_ms)}) | |")
    if rm_ms is not None:
        print(f"| for comparison: removing a 1 GiB file on the data directory's filesystem, "
              f"{mount} | {rm_ms:.0f} ms | |")
    print(f"| `seam calls --since 1h` with them present (median of 9, the whole command) | "
          f"{old_median:.0f} ms (min {old_min:.0f}) | < 100 ms |")
    print(f"| the same before they were generated | {base_median:.0f} ms (min {base_min:.0f}) | |")
    print(f"| the same after the drop | {after_median:.0f} ms | |")
    print(f"| its query in PostgreSQL (EXPLAIN ANALYZE, limit {limit}) | {exec_ms} ms, "
          f"partitions in its plan: {', '.join(scanned)} (the month's partitions and the default one: "
          f"the query has no upper time bound) | |")
    print(f"| a retention batch in PostgreSQL: the oldest {BATCH:,} calls of the month and their rows, "
          f"one transaction (median / max of {a.batches}) | {statistics.median(batch_ms):.0f} / "
          f"{max(batch_ms):.0f} ms ({BATCH / statistics.median(batch_ms) * 1000:,.0f} calls/s) | |")
    if lite:
        gen, size, times = lite
        print(f"| the same in SQLite, a store of {a.sqlite_rows:,} calls "
              f"({size / a.sqlite_rows * 1_000_000 / 1048576:.0f} MiB per million calls with their streams rows) "
              f"| {statistics.median(times):.0f} / {max(times):.0f} ms "
              f"({BATCH / statistics.median(times) * 1000:,.0f} calls/s) | |")
    print()
    print(f"On disk, per million calls (the month's partitions after VACUUM, scaled from {a.rows:,}):\n")
    print("| relation | table (MiB) | indexes (MiB each) |")
    print("|---|---|---|")
    total = 0
    for t, (heap, idx) in part_sizes.items():
        total += heap + sum(b for _, b in idx)
        print(f"| {t} | {mib(heap * per_m)} | "
              + ", ".join(f"{n}: {mib(b * per_m)}" for n, b in idx) + " |")
    print(f"| all | | {mib(total * per_m)} MiB per million calls in total |")
    if convert:
        ccounts, secs, lines = convert
        print()
        print(f"`seam migrate` of a store at version 15 with {ccounts['calls']:,} calls "
              f"({ccounts['attempts']:,} attempts rows, {ccounts['streams']:,} streams rows) over two "
              f"months: migration 16 took {secs:.1f} s ({ccounts['calls'] / secs:,.0f} calls/s, "
              f"every row of the four tables moved, keys and indexes built again). Its progress, on "
              f"standard error, ended:\n")
        print("```")
        for l in lines[-6:]:
            print(l)
        print("```")


if __name__ == "__main__":
    main()
