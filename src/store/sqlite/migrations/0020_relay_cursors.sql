-- How far each broker relay has published each authority's events, as on
-- PostgreSQL (see its 0020).
CREATE TABLE relay_cursors (
    authority_code  TEXT    NOT NULL,
    relay_name      TEXT    NOT NULL,
    last_sequence   INTEGER NOT NULL CHECK (last_sequence >= 0),
    PRIMARY KEY (authority_code, relay_name)
) STRICT;
