-- Issue 15: notices rest on the registers held.
-- A policy says whether claimed sessions the registers do not hold are accepted.
ALTER TABLE policy_versions ADD COLUMN evidence_rule TEXT NOT NULL DEFAULT 'register_required'
    CHECK (evidence_rule IN ('register_required', 'claims_allowed'));
-- Each claimed session, matched or not to the mark held at issue (JSON array),
-- and the later corrections of those marks (JSON array, appended to by RecordMarks).
ALTER TABLE notices ADD COLUMN session_evidence TEXT NOT NULL DEFAULT '[]';
ALTER TABLE notices ADD COLUMN evidence_corrections TEXT NOT NULL DEFAULT '[]';
