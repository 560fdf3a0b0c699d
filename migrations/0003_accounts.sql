-- Accounts: e-mail verification, refresh-token sessions, single-use e-mail tokens, the
-- outbox of e-mails to send and the audit log. Every statement on these tables lives in
-- src/accounts/account_store.cpp.
--
-- Never edit this file once it has run anywhere: add 0004_... instead (the runner compares
-- checksums and refuses a changed file).

-- Nullable and without a default, so PostgreSQL only records the column in the catalog and
-- rewrites no row: instant on a table of 1M users, and the ACCESS EXCLUSIVE lock it takes
-- is held for milliseconds. NULL means "not verified".
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Refresh-token sessions. The client holds an opaque token; only its SHA-256 is stored, so
-- a leaked table yields no usable token. Each refresh spends its row (rotated_at) and adds
-- a new one to the same family; presenting a spent token again means it was stolen (or
-- replayed), and the whole family is revoked (RFC 9700, refresh token rotation).
CREATE TABLE sessions (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The id of the family's first session. The store draws that id from this table's
    -- identity sequence before inserting (OVERRIDING SYSTEM VALUE), so the first row can
    -- name itself without an INSERT followed by an UPDATE.
    family_id    bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- Spent by a refresh; the row stays so that its reuse can be recognised.
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    -- Shown in "your sessions" lists; the store truncates the agent to 256 bytes.
    user_agent   text        NOT NULL DEFAULT '',
    ip           text,
    token_hash   bytea       NOT NULL,
    CONSTRAINT sessions_token_hash_length CHECK (octet_length(token_hash) = 32)
);

-- Refresh looks a session up by the hash of the presented token.
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
-- Password changes revoke a user's live sessions; and deleting a user cascades here, which
-- without an index on every row's user_id would scan the whole table (a partial index, of
-- live sessions only, would not serve the cascade).
CREATE INDEX sessions_user ON sessions (user_id);
-- Reuse detection and logout revoke a whole family.
CREATE INDEX sessions_family ON sessions (family_id);

-- Single-use tokens sent by e-mail (verify an address, reset a password), stored hashed as
-- sessions are. `email` is the address the token was sent to: a verify token proves control
-- of that address only, so it must not verify an address the user changed to afterwards.
--   purpose: 0 = verify email, 1 = reset password (src/accounts/account_store.hpp)
CREATE TABLE account_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- Set when consumed, and also when a newer token of the same purpose voids this one.
    used_at    timestamptz,
    purpose    smallint    NOT NULL,
    email      text        NOT NULL,
    CONSTRAINT account_tokens_purpose_known CHECK (purpose IN (0, 1)),
    CONSTRAINT account_tokens_hash_length CHECK (octet_length(token_hash) = 32)
);

-- Issuing a token voids the user's earlier unused ones of that purpose; deleting a user
-- cascades here too (so not partial: the cascade looks up used tokens as well).
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- E-mails to send, written in the same transaction as the change that causes them, so a
-- message exists exactly when its change committed (the transactional outbox); a separate
-- worker delivers them and sets sent_at.
CREATE TABLE outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    kind       text        NOT NULL,
    recipient  text        NOT NULL,
    subject    text        NOT NULL,
    -- May hold a raw single-use token: the only place it exists besides the e-mail itself.
    body       text        NOT NULL
);

-- The worker reads the unsent rows in id order; sent rows stay out of the index, so it
-- stays small however long the outbox grows.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Security-relevant events. actor_id and target_id carry no foreign key on purpose: the
-- log must outlive the users it mentions, and a deleted user's events must not vanish or
-- block the delete. Listing walks the primary key backwards (keyset on id), so no index
-- on `at` is needed.
CREATE TABLE audit_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,
    target_id  bigint,
    action     text        NOT NULL,
    ip         text,
    request_id text,
    detail     jsonb       NOT NULL DEFAULT '{}'
);
