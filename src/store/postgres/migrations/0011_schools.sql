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
    open_date            DATE,
    close_date           DATE,
    -- When and by which import request this version was recorded.
    recorded_at          TIMESTAMPTZ NOT NULL,
    request_id           TEXT    NOT NULL,
    PRIMARY KEY (authority_code, urn)
);

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
    open_date            DATE,
    close_date           DATE,
    recorded_at          TIMESTAMPTZ NOT NULL,
    request_id           TEXT    NOT NULL,
    PRIMARY KEY (authority_code, urn, version)
);

-- A load replaces a school's details in place; replaced versions are kept for good.
GRANT SELECT, INSERT ON schools TO lea_notices_service;
GRANT UPDATE (version, la_code, establishment_number, name, address_lines, postcode, phase,
              establishment_type, status, open_date, close_date, recorded_at, request_id)
    ON schools TO lea_notices_service;
GRANT SELECT, INSERT ON school_history TO lea_notices_service;
