-- The content of the case each eval result graded: the SHA-256 (hex) of the case's canonical
-- JSON, as the dataset's version hashes it. `seam dataset diff DATASET` compares a dataset's
-- current cases with those of its newest run by it; NULL for results stored before.
ALTER TABLE eval_results ADD COLUMN case_hash TEXT;
