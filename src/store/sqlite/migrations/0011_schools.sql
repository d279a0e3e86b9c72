-- The school register: each authority's establishments as loaded from the DfE's
-- "Get Information About Schools" (GIAS) file. One current row per URN, with a
-- version number; a load that changes a school moves the held version to
-- school_history first, so every earlier version stays readable.

CREATE TABLE schools (
    authority_code       TEXT    NOT NULL,
    urn                  TEXT    NOT NULL,
    -- 1 when added, one more with each change.
    version              INTEGER NOT NULL CHECK (version >= 1),
    -- The establishment's own LA (GIAS "LA (code)").
    la_code              TEXT    NOT NULL,
    establishment_number TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    -- A JSON array of strings, as the notices' addresses.
    address_lines        TEXT    NOT NULL,
    postcode             TEXT    NOT NULL,
    -- NULL: GIAS gave no phase the service knows.
    phase                TEXT    CHECK (phase IN ('nursery', 'primary', 'middle', 'secondary',
                                                  'all_through', 'sixteen_plus', 'not_applicable')),
    establishment_type   TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('open', 'closed', 'proposed')),
    open_date            TEXT,
    close_date           TEXT,
    -- When and by which import request this version was recorded.
    recorded_at          TEXT    NOT NULL,
    request_id           TEXT    NOT NULL,
    PRIMARY KEY (authority_code, urn)
) STRICT;

-- Every version a later load replaced.
CREATE TABLE school_history (
    authority_code       TEXT    NOT NULL,
    urn                  TEXT    NOT NULL,
    version              INTEGER NOT NULL,
    la_code              TEXT    NOT NULL,
    establishment_number TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    address_lines        TEXT    NOT NULL,
    postcode             TEXT    NOT NULL,
    phase                TEXT,
    establishment_type   TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    open_date            TEXT,
    close_date           TEXT,
    recorded_at          TEXT    NOT NULL,
    request_id           TEXT    NOT NULL,
    PRIMARY KEY (authority_code, urn, version)
) STRICT;
