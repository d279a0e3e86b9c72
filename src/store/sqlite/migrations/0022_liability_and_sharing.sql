-- The basis of each parent's liability on a notice (issue 28); as
-- PostgreSQL's 0022.
ALTER TABLE notices ADD COLUMN parent_liability_basis TEXT
    CHECK (parent_liability_basis IN ('parental_responsibility', 'care_of_child'));
ALTER TABLE notices ADD COLUMN parent_relationship TEXT
    CHECK (length(parent_relationship) BETWEEN 1 AND 60
           AND (parent_liability_basis IS NULL) = (parent_relationship IS NULL));

-- The limit across authorities (see PostgreSQL's 0022).
CREATE TABLE sharing_agreement_versions (
    authority_code      TEXT NOT NULL CHECK (length(authority_code) = 3),
    effective_from      TEXT NOT NULL,
    shares_with         TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    created_by_subject  TEXT NOT NULL,
    created_by_role     TEXT NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
) STRICT;

ALTER TABLE notices ADD COLUMN other_authority_notices TEXT NOT NULL DEFAULT '[]';
