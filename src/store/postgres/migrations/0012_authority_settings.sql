-- Each authority's own details as printed on its letters (RenderNotice), in
-- versions by effective date like policy_versions: a letter prints the version
-- in force on the notice's issue date.
CREATE TABLE authority_settings (
    authority_code      TEXT        NOT NULL CHECK (authority_code ~ '^[0-9]{3}$'),
    effective_from      DATE        NOT NULL,
    authority_name      TEXT        NOT NULL,
    -- A JSON array of strings, first line first.
    address_lines       TEXT        NOT NULL,
    postcode            TEXT        NOT NULL,
    payment_url         TEXT        NOT NULL,
    payment_telephone   TEXT        NOT NULL,
    questions_contact   TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    created_by_subject  TEXT        NOT NULL,
    created_by_role     TEXT        NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
);

-- Versions are added, never changed (as policy versions).
GRANT SELECT, INSERT ON authority_settings TO lea_notices_service;
