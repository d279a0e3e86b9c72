-- The access log (issue 29); as PostgreSQL's 0023. `entry_id` is numbered by
-- the statement that appends (see `AccessSql for Sqlite`).
CREATE TABLE access_log (
    authority_code  TEXT    NOT NULL CHECK (length(authority_code) = 3),
    entry_id        INTEGER NOT NULL,
    accessed_at     TEXT    NOT NULL,
    actor_subject   TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    resource        TEXT    NOT NULL,
    subject_kind    TEXT    NOT NULL CHECK (subject_kind IN ('pupil', 'parent')),
    subject_key     TEXT    NOT NULL,
    purpose         TEXT,
    PRIMARY KEY (authority_code, entry_id)
) STRICT;

CREATE INDEX access_log_by_subject
    ON access_log (authority_code, subject_kind, subject_key, entry_id);
CREATE INDEX access_log_by_actor
    ON access_log (authority_code, actor_subject, entry_id);
