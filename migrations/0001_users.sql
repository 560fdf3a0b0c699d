-- Users, sized for 1,000,000 rows and more within a 400 MB budget (table + indexes).
--
-- Applied by `myriad migrate` in one transaction together with its schema_migrations row.
-- Never edit this file once it has run anywhere: add 0002_... instead (the runner compares
-- checksums and refuses a changed file).

-- Trusted extension since PostgreSQL 13: the database owner may create it. scripts/pg.sh
-- already creates it in the local clusters.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Column order is for alignment: the 8-byte columns first, then the 4- and 2-byte ones, then
-- the variable-length text, so no padding sits between columns.
--
-- role and status are smallint codes rather than text or an enum type: 2 bytes each (an
-- enum is 4 bytes, text 5+), and together with `version` they fill exactly one 8-byte slot.
-- The codes are mapped in src/users/ and pinned here by CHECK constraints:
--   role:   0 = user,   1 = admin
--   status: 0 = active, 1 = disabled
CREATE TABLE users (
    -- Identity values only grow, so `ORDER BY id` is creation order: keyset pagination
    -- (WHERE id > $cursor ORDER BY id LIMIT n) walks the primary key index and needs no
    -- index on created_at.
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- Optimistic concurrency: the ETag; every UPDATE sets version = version + 1.
    version       integer     NOT NULL DEFAULT 1,
    role          smallint    NOT NULL DEFAULT 0,
    status        smallint    NOT NULL DEFAULT 0,
    -- Stored normalised to lower case (the application lowercases before writing), so a
    -- plain unique index makes it unique case-insensitively and lookups need no lower().
    email         text        NOT NULL,
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
    CONSTRAINT users_email_lower CHECK (email = lower(email)),
    CONSTRAINT users_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT users_role_known CHECK (role IN (0, 1)),
    CONSTRAINT users_status_known CHECK (status IN (0, 1))
);

-- Lookup by email (login, duplicate check -> 409).
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Search by email or name, prefix and substring (`q`): ONE trigram index over both, queried
-- as  (email || ' ' || name) ILIKE '%' || $q || '%'  (the expression must match exactly).
-- One index rather than one per column: a GIN trigram index is the largest object here
-- (roughly as big as the table itself for ~40 characters per row), and two of them would
-- put 1M rows near the 400 MB budget for no gain, since a search matches either field.
-- pg_trgm folds case, so ILIKE needs no lower() either.
CREATE INDEX users_search_trgm ON users USING gin ((email || ' ' || name) gin_trgm_ops);
