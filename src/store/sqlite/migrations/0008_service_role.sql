-- PostgreSQL's 0008 creates the service's database role and its privileges.
-- SQLite has no roles: whoever can open the file can change it, and the audit
-- log's hash chain (0007) is what shows a change. Nothing to do here; the
-- migration keeps the two backends' numbers in step.
SELECT 1;
