-- Per-key limits (issue 4): a JSON object of METRIC_per_WINDOW -> max, or NULL.
ALTER TABLE keys ADD COLUMN limits TEXT;
