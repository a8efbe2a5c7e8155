-- How each audit record was hashed (issue 18): NULL for SHA-256 (anyone can recompute it),
-- else the id of the SEAM_AUDIT_KEY it was signed with (HMAC-SHA256; the key itself is never
-- stored). Records before this migration stay unkeyed and still verify.
ALTER TABLE audit ADD COLUMN key_id TEXT;
