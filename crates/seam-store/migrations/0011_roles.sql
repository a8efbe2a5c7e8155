-- Roles (issue 18). `users.admin` stays the admin role, so existing admins stay admins.
-- Tenant-scoped roles are rows here: `operator` (keys, key limits and sessions of the tenant,
-- and its records) or `viewer` (its records). A user without rows, as every non-admin user
-- from before this migration is, reads no tenant's records and manages no tenant's keys or
-- sessions; they still author releases and, as a prompt's owner, approve and deploy them.
CREATE TABLE IF NOT EXISTS user_roles (
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (user_id, role, tenant)
);
