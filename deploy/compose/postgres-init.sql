-- One PostgreSQL server, five databases: each service owns its own (yidi_<service>, as in the
-- embedded stack) under its own role, so no service can read another's tables.
-- Runs once, when the data volume is new (docker-entrypoint-initdb.d). Local passwords only.
CREATE ROLE yidi_filing LOGIN PASSWORD 'yidi_filing';
CREATE DATABASE yidi_filing OWNER yidi_filing;
CREATE ROLE yidi_settlement LOGIN PASSWORD 'yidi_settlement';
CREATE DATABASE yidi_settlement OWNER yidi_settlement;
CREATE ROLE yidi_reconciliation LOGIN PASSWORD 'yidi_reconciliation';
CREATE DATABASE yidi_reconciliation OWNER yidi_reconciliation;
CREATE ROLE yidi_clearing LOGIN PASSWORD 'yidi_clearing';
CREATE DATABASE yidi_clearing OWNER yidi_clearing;
CREATE ROLE yidi_audit LOGIN PASSWORD 'yidi_audit';
CREATE DATABASE yidi_audit OWNER yidi_audit;
CREATE ROLE yidi_reimbursement LOGIN PASSWORD 'yidi_reimbursement';
CREATE DATABASE yidi_reimbursement OWNER yidi_reimbursement;

REVOKE CONNECT ON DATABASE yidi_filing, yidi_settlement, yidi_reconciliation, yidi_clearing, yidi_audit, yidi_reimbursement FROM PUBLIC;
GRANT CONNECT ON DATABASE yidi_filing TO yidi_filing;
GRANT CONNECT ON DATABASE yidi_settlement TO yidi_settlement;
GRANT CONNECT ON DATABASE yidi_reconciliation TO yidi_reconciliation;
GRANT CONNECT ON DATABASE yidi_clearing TO yidi_clearing;
GRANT CONNECT ON DATABASE yidi_audit TO yidi_audit;
GRANT CONNECT ON DATABASE yidi_reimbursement TO yidi_reimbursement;
