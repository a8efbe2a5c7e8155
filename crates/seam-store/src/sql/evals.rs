//! Eval runs and their results.

use super::SqlStore;
use super::from_row::{all, one};
use crate::{EvalGateRecord, EvalResultRecord, EvalRunRecord, Evals, Result, ValueEntryRecord};
use async_trait::async_trait;
use seam_vocab::EvalStatus;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

const RUN_COLUMNS: &str = "id, created_ms, finished_ms, dataset, dataset_version, target_kind, target, served_models, repeats, cases, status, actor";
const GATE_COLUMNS: &str = "id, created_ms, candidate_run, baseline_run, candidate_release, baseline_release, dataset, dataset_version, decision, alpha, margin, actor";
const VALUE_COLUMNS: &str =
    "id, created_ms, gate_id, prompt, dataset, dataset_version, decision, entry, actor";
const RESULT_COLUMNS: &str = "run_id, case_id, repeat_index, created_ms, verdict, score, reasons, call_id, latency_ms, cost_usd, case_hash";

fn served_json(models: &[String]) -> String {
    serde_json::Value::from(models.to_vec()).to_string()
}

fn word<T: std::str::FromStr<Err = seam_vocab::Unknown>>(
    r: &AnyRow,
    col: &str,
) -> std::result::Result<T, sqlx::Error> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: col.to_string(),
        source: Box::new(e),
    })
}

impl FromRow<'_, AnyRow> for EvalRunRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        let served: String = r.try_get("served_models")?;
        let served_models =
            serde_json::from_str(&served).map_err(|e| sqlx::Error::ColumnDecode {
                index: "served_models".into(),
                source: Box::new(e),
            })?;
        Ok(EvalRunRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            finished_ms: r.try_get("finished_ms")?,
            dataset: r.try_get("dataset")?,
            dataset_version: r.try_get("dataset_version")?,
            target_kind: r.try_get("target_kind")?,
            target: r.try_get("target")?,
            served_models,
            repeats: r.try_get("repeats")?,
            cases: r.try_get("cases")?,
            status: word(r, "status")?,
            actor: r.try_get("actor")?,
        })
    }
}

impl FromRow<'_, AnyRow> for EvalResultRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(EvalResultRecord {
            run_id: r.try_get("run_id")?,
            case_id: r.try_get("case_id")?,
            repeat_index: r.try_get("repeat_index")?,
            created_ms: r.try_get("created_ms")?,
            verdict: word(r, "verdict")?,
            score: r.try_get("score")?,
            reasons: r.try_get("reasons")?,
            call_id: r.try_get("call_id")?,
            latency_ms: r.try_get("latency_ms")?,
            cost_usd: r.try_get("cost_usd")?,
            case_hash: r.try_get("case_hash")?,
        })
    }
}

impl FromRow<'_, AnyRow> for EvalGateRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(EvalGateRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            candidate_run: r.try_get("candidate_run")?,
            baseline_run: r.try_get("baseline_run")?,
            candidate_release: r.try_get("candidate_release")?,
            baseline_release: r.try_get("baseline_release")?,
            dataset: r.try_get("dataset")?,
            dataset_version: r.try_get("dataset_version")?,
            decision: r.try_get("decision")?,
            alpha: r.try_get("alpha")?,
            margin: r.try_get("margin")?,
            actor: r.try_get("actor")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ValueEntryRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(ValueEntryRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            gate_id: r.try_get("gate_id")?,
            prompt: r.try_get("prompt")?,
            dataset: r.try_get("dataset")?,
            dataset_version: r.try_get("dataset_version")?,
            decision: r.try_get("decision")?,
            entry: r.try_get("entry")?,
            actor: r.try_get("actor")?,
        })
    }
}

#[async_trait]
impl Evals for SqlStore {
    async fn insert_eval_run(&self, run: &EvalRunRecord) -> Result<()> {
        let sql = format!(
            "INSERT INTO eval_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run.id.as_str())
            .bind(run.created_ms)
            .bind(run.finished_ms)
            .bind(run.dataset.as_str())
            .bind(run.dataset_version.as_str())
            .bind(run.target_kind.as_str())
            .bind(run.target.as_str())
            .bind(served_json(&run.served_models))
            .bind(run.repeats)
            .bind(run.cases)
            .bind(run.status.as_str())
            .bind(run.actor.as_str())
            .persistent(self.sqlite)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_eval_run_status(
        &self,
        id: &str,
        status: EvalStatus,
        finished_ms: Option<i64>,
        served_models: &[String],
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE eval_runs SET status = $1, finished_ms = $2, served_models = $3 WHERE id = $4",
        )
        .persistent(self.sqlite)
        .bind(status.as_str())
        .bind(finished_ms)
        .bind(served_json(served_models))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_eval_results(&self, results: &[EvalResultRecord]) -> Result<u64> {
        if results.is_empty() {
            return Ok(0);
        }
        let mut tx = super::begin_write(&self.pool, self.sqlite).await?;
        let sql = format!(
            "INSERT INTO eval_results ({RESULT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (run_id, case_id, repeat_index) DO UPDATE SET created_ms = excluded.created_ms, \
             verdict = excluded.verdict, score = excluded.score, reasons = excluded.reasons, \
             call_id = excluded.call_id, latency_ms = excluded.latency_ms, cost_usd = excluded.cost_usd, \
             case_hash = excluded.case_hash \
             WHERE eval_results.verdict = 'error'"
        );
        let mut new = 0;
        // Not prepared on PostgreSQL: a statement prepared with a NULL score or cost took
        // that NULL's type, and a later number in the same place would not bind.
        for r in results {
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(r.run_id.as_str())
                .bind(r.case_id.as_str())
                .bind(r.repeat_index)
                .bind(r.created_ms)
                .bind(r.verdict.as_str())
                .bind(r.score)
                .bind(r.reasons.as_str())
                .bind(r.call_id.as_deref())
                .bind(r.latency_ms)
                .bind(r.cost_usd)
                .bind(r.case_hash.as_deref())
                .persistent(self.sqlite)
                .execute(&mut *tx)
                .await?;
            new += done.rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn list_eval_runs(&self) -> Result<Vec<EvalRunRecord>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM eval_runs ORDER BY created_ms DESC, id DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn get_eval_run(
        &self,
        id: &str,
    ) -> Result<Option<(EvalRunRecord, Vec<EvalResultRecord>)>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM eval_runs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(run) = one::<EvalRunRecord>(row.as_ref())? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {RESULT_COLUMNS} FROM eval_results WHERE run_id = $1 ORDER BY case_id, repeat_index"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some((run, all(&rows)?)))
    }

    async fn insert_eval_gate(&self, g: &EvalGateRecord) -> Result<()> {
        let sql = format!(
            "INSERT INTO eval_gates ({GATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        // Not prepared on PostgreSQL: a NULL release would fix its place's type.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(g.id.as_str())
            .bind(g.created_ms)
            .bind(g.candidate_run.as_str())
            .bind(g.baseline_run.as_str())
            .bind(g.candidate_release.as_deref())
            .bind(g.baseline_release.as_deref())
            .bind(g.dataset.as_str())
            .bind(g.dataset_version.as_str())
            .bind(g.decision.as_str())
            .bind(g.alpha)
            .bind(g.margin)
            .bind(g.actor.as_str())
            .persistent(self.sqlite)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn eval_gates_between(
        &self,
        candidate_release: &str,
        baseline_release: &str,
    ) -> Result<Vec<EvalGateRecord>> {
        let sql = format!(
            "SELECT {GATE_COLUMNS} FROM eval_gates WHERE candidate_release = $1 AND baseline_release = $2 ORDER BY created_ms DESC, id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(candidate_release)
            .bind(baseline_release)
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn insert_value_entry(&self, e: &ValueEntryRecord) -> Result<()> {
        let sql = format!(
            "INSERT INTO value_ledger ({VALUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.id.as_str())
            .bind(e.created_ms)
            .bind(e.gate_id.as_str())
            .bind(e.prompt.as_str())
            .bind(e.dataset.as_str())
            .bind(e.dataset_version.as_str())
            .bind(e.decision.as_str())
            .bind(e.entry.as_str())
            .bind(e.actor.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn live_calls_of_release(
        &self,
        release_id: &str,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<u64> {
        // Live calls are stored with a NULL purpose (migration 20).
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls WHERE release_id = $1 AND created_ms >= $2 AND created_ms < $3 AND purpose IS NULL",
        )
        .bind(release_id)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn value_entries(&self, since_ms: i64, until_ms: i64) -> Result<Vec<ValueEntryRecord>> {
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM value_ledger WHERE created_ms >= $1 AND created_ms < $2 ORDER BY created_ms, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(until_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }
}
