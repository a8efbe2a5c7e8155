-- Silent failures (issue 29): each chat, messages or responses call keeps the xxh3-64 of the
-- request body as the client sent it (16 lowercase hex characters), so that a client re-sending
-- the same request (a retry by hand, a regenerate) can be told apart from a new one without
-- keeping the body. Embeddings calls, and calls recorded before this migration, have none.
ALTER TABLE calls ADD COLUMN request_hash TEXT;
