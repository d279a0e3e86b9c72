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
