-- Issue 27: how far each broker relay (`lea-notices relay-events`) has
-- published each authority's event feed: the last sequence (audit event id)
-- the broker confirmed. The relay moves it on after each confirmed batch, in a
-- transaction of its own; it never moves back.
CREATE TABLE relay_cursors (
    authority_code  TEXT    NOT NULL,
    relay_name      TEXT    NOT NULL,
    last_sequence   BIGINT  NOT NULL CHECK (last_sequence >= 0),
    PRIMARY KEY (authority_code, relay_name)
);

-- The relay connects as the service's role.
GRANT SELECT, INSERT ON relay_cursors TO lea_notices_service;
GRANT UPDATE (last_sequence) ON relay_cursors TO lea_notices_service;
