-- The basis of each parent's liability on a notice (issue 28): section 576
-- of the Education Act 1996 makes a parent anyone with parental
-- responsibility or who has care of the child. Required when a penalty
-- notice is issued; notices issued before keep NULL.
ALTER TABLE notices ADD COLUMN parent_liability_basis TEXT
    CHECK (parent_liability_basis IN ('parental_responsibility', 'care_of_child'));
ALTER TABLE notices ADD COLUMN parent_relationship TEXT
    CHECK (length(parent_relationship) BETWEEN 1 AND 60);
ALTER TABLE notices ADD CONSTRAINT notices_liability_whole
    CHECK ((parent_liability_basis IS NULL) = (parent_relationship IS NULL));

-- The limit across authorities (issue 28): each authority's sharing
-- agreement, versioned by effective date like its policy. A version names
-- the other authorities of the deployment it shares its penalty notices
-- with; a look-up happens only when both authorities' versions in force on
-- the issue date name each other. With no version, an authority shares with
-- nobody.
CREATE TABLE sharing_agreement_versions (
    authority_code      TEXT        NOT NULL CHECK (authority_code ~ '^[0-9]{3}$'),
    effective_from      DATE        NOT NULL,
    -- The other authorities' codes, sorted, comma-separated ('' for none).
    shares_with         TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    created_by_subject  TEXT        NOT NULL,
    created_by_role     TEXT        NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
);

-- Versions are added, never changed (as policy versions).
GRANT SELECT, INSERT ON sharing_agreement_versions TO lea_notices_service;

-- What an issue learned of other authorities' notices to the same parent for
-- the same child (a JSON array of {person_id, la_code, issue_date, counted}).
ALTER TABLE notices ADD COLUMN other_authority_notices TEXT NOT NULL DEFAULT '[]';
