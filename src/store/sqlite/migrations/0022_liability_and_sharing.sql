-- The basis of each parent's liability on a notice (issue 28); as
-- PostgreSQL's 0022.
ALTER TABLE notices ADD COLUMN parent_liability_basis TEXT
    CHECK (parent_liability_basis IN ('parental_responsibility', 'care_of_child'));
ALTER TABLE notices ADD COLUMN parent_relationship TEXT
    CHECK (length(parent_relationship) BETWEEN 1 AND 60
           AND (parent_liability_basis IS NULL) = (parent_relationship IS NULL));
