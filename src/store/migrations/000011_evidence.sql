-- Evidence an inspector can rely on (21 CFR 11.10(e), 11.50, 11.70; EU GMP Annex 11 §9, §14):
--  * the audit log and every register are hash chains (chain_seq, prev_hash, row_hash; computed by the bot, see
--    src/store/chain.ts) whose heads are signed with a key the database does not hold (chain_heads);
--  * decisions (approve, reject, QA verified) are Ed25519 signatures over the canonical content they are about
--    (signatures); the restore start gate trusts them, never a status column;
--  * what changes (a request's progress, a backup's later verification or deletion) is not an edit of the
--    evidence: it is appended (backup_register_events) or kept outside it (approval_state);
--  * evidence tables refuse UPDATE, DELETE and TRUNCATE (and with the runtime role of `backup-bot db grant`,
--    which may only INSERT and SELECT on them, nobody but their owner could change that).

-- ---- chains on the existing registers and the audit log -------------------------------------------------
ALTER TABLE audit_log ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;
ALTER TABLE backup_register ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;
ALTER TABLE restore_test_register ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;
ALTER TABLE restore_incidents ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;

-- ---- a backup's later verifications and its deletion by retention, appended ---------------------------
CREATE TABLE backup_register_events (
  id         bigserial PRIMARY KEY,
  backup_id  bigint NOT NULL REFERENCES backup_register(id),
  client     text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('verification', 'deletion')),
  at         timestamptz NOT NULL,
  ok         boolean,
  note       text NOT NULL DEFAULT '',
  run_id     bigint,
  chain_seq  bigint UNIQUE,
  prev_hash  text,
  row_hash   text
);
CREATE INDEX backup_register_events_backup ON backup_register_events (backup_id, id);

-- ---- signed decisions -----------------------------------------------------------------------------------
CREATE TABLE signatures (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('restore-decision', 'qa-verification')),
  subject     text NOT NULL,
  client      text NOT NULL,
  meaning     text NOT NULL,
  signer_id   text NOT NULL,
  signer_name text NOT NULL,
  signer_role text NOT NULL,
  statement   text NOT NULL,
  reason      text,
  signed_at   timestamptz NOT NULL,
  key_id      text NOT NULL,
  content     text NOT NULL,
  signature   text NOT NULL,
  chain_seq   bigint UNIQUE,
  prev_hash   text,
  row_hash    text
);
-- One decision per request, one QA signature per restore test: a second click or a replay signs nothing.
CREATE UNIQUE INDEX signatures_one_per_subject ON signatures (kind, subject);

-- ---- signed chain heads ---------------------------------------------------------------------------------
CREATE TABLE chain_heads (
  id         bigserial PRIMARY KEY,
  chain      text NOT NULL,
  chain_seq  bigint NOT NULL,
  row_hash   text NOT NULL,
  signed_at  timestamptz NOT NULL,
  reason     text NOT NULL,
  key_id     text NOT NULL,
  content    text NOT NULL,
  signature  text NOT NULL
);
CREATE INDEX chain_heads_chain ON chain_heads (chain, chain_seq DESC);

-- ---- production-restore requests: the request is evidence, its progress is state ----------------------
CREATE TABLE approval_state (
  approval_id              bigint PRIMARY KEY REFERENCES approvals(id),
  status                   text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'running', 'completed', 'failed', 'rolled_back', 'interrupted')),
  -- a decision recorded before decisions were signed (shown in the register; never trusted by the start gate)
  legacy_decision          jsonb,
  last_step                text,
  run_id                   bigint REFERENCES runs(id),
  slack_channel            text,
  slack_ts                 text,
  started_by               text,
  started_by_name          text,
  started_at               timestamptz,
  finished_at              timestamptz,
  error                    text,
  steps                    jsonb NOT NULL DEFAULT '[]'::jsonb,
  pre_restore_backup_id    bigint REFERENCES backup_register(id),
  restore_database         text,
  old_database             text,
  old_database_drop_after  timestamptz,
  old_database_dropped_at  timestamptz,
  register_id              bigint REFERENCES restore_test_register(id),
  runbook_instance         integer,
  runbook_message_channel  text,
  runbook_message_ts       text
);
INSERT INTO approval_state (approval_id, status, legacy_decision, last_step, run_id, slack_channel, slack_ts, started_by, started_by_name, started_at,
    finished_at, error, steps, pre_restore_backup_id, restore_database, old_database, old_database_drop_after, old_database_dropped_at, register_id,
    runbook_instance, runbook_message_channel, runbook_message_ts)
  SELECT id,
         -- an approval given before signatures existed cannot be started: it must be approved again, signed
         CASE WHEN status = 'approved' THEN 'expired' ELSE status END,
         CASE WHEN meaning IS NULL THEN NULL ELSE jsonb_build_object('decided_by', decided_by, 'decided_by_name', decided_by_name, 'decided_role', decided_role,
           'decided_at', decided_at, 'meaning', meaning, 'statement', statement, 'signature_hash', signature_hash, 'reject_reason', reject_reason) END,
         last_step, run_id, slack_channel, slack_ts, started_by, started_by_name, started_at, finished_at, error, steps, pre_restore_backup_id,
         restore_database, old_database, old_database_drop_after, old_database_dropped_at, register_id, runbook_instance, runbook_message_channel,
         runbook_message_ts
    FROM approvals;
DROP INDEX IF EXISTS approvals_client_status;
DROP INDEX IF EXISTS approvals_old_database;
ALTER TABLE approvals
  DROP COLUMN status, DROP COLUMN decided_by, DROP COLUMN decided_by_name, DROP COLUMN decided_role, DROP COLUMN decided_at, DROP COLUMN meaning,
  DROP COLUMN statement, DROP COLUMN signature_hash, DROP COLUMN reject_reason, DROP COLUMN last_step, DROP COLUMN run_id, DROP COLUMN slack_channel,
  DROP COLUMN slack_ts, DROP COLUMN started_by, DROP COLUMN started_by_name, DROP COLUMN started_at, DROP COLUMN finished_at, DROP COLUMN error,
  DROP COLUMN steps, DROP COLUMN pre_restore_backup_id, DROP COLUMN restore_database, DROP COLUMN old_database, DROP COLUMN old_database_drop_after,
  DROP COLUMN old_database_dropped_at, DROP COLUMN register_id, DROP COLUMN runbook_instance, DROP COLUMN runbook_message_channel,
  DROP COLUMN runbook_message_ts,
  ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;
CREATE INDEX approval_state_status ON approval_state (status);
CREATE INDEX approval_state_old_database ON approval_state (old_database_drop_after) WHERE old_database IS NOT NULL AND old_database_dropped_at IS NULL;

-- ---- what the bot reads: the registers with what was appended to them ---------------------------------
CREATE VIEW approval_rows AS
SELECT a.id, a.client, a.scope, a.strategy, a.tables, a.backup_id, a.backup_key, a.backup_file, a.backup_sha256, a.backup_taken_at, a.reason,
       a.ticket, a.planned_start, a.checklist, a.impact, a.requested_by, a.requested_by_name, a.requested_at, a.expires_at, a.request_hash,
       a.chain_seq, a.row_hash,
       s.status,
       coalesce(d.signer_id, s.legacy_decision ->> 'decided_by') AS decided_by,
       coalesce(d.signer_name, s.legacy_decision ->> 'decided_by_name') AS decided_by_name,
       coalesce(d.signer_role, s.legacy_decision ->> 'decided_role') AS decided_role,
       coalesce(d.signed_at, (s.legacy_decision ->> 'decided_at')::timestamptz) AS decided_at,
       coalesce(d.meaning, s.legacy_decision ->> 'meaning') AS meaning,
       coalesce(d.statement, s.legacy_decision ->> 'statement') AS statement,
       coalesce(d.reason, s.legacy_decision ->> 'reject_reason') AS reject_reason,
       d.id AS decision_id, d.key_id AS decision_key_id, d.signature AS decision_signature, d.row_hash AS decision_row_hash,
       s.last_step, s.run_id, s.slack_channel, s.slack_ts, s.started_by, s.started_by_name, s.started_at, s.finished_at, s.error, s.steps,
       s.pre_restore_backup_id, s.restore_database, s.old_database, s.old_database_drop_after, s.old_database_dropped_at, s.register_id,
       s.runbook_instance, s.runbook_message_channel, s.runbook_message_ts
  FROM approvals a
  JOIN approval_state s ON s.approval_id = a.id
  LEFT JOIN LATERAL (SELECT * FROM signatures g WHERE g.kind = 'restore-decision' AND g.subject = 'approval:' || a.id ORDER BY g.id LIMIT 1) d ON true;

CREATE VIEW restore_test_rows AS
SELECT t.id, t.run_id, t.client, t.tested_at, t.quarter, t.backup_used, t.environment, t.restore_minutes, t.records_verified, t.checks,
       t.executed_by, t.result, t.observations, t.approval_id, t.chain_seq, t.row_hash,
       coalesce(q.signer_name, t.verified_by_qa) AS verified_by_qa,
       coalesce(q.signer_id, t.verified_by_qa_id) AS verified_by_qa_id,
       coalesce(q.signed_at, t.verified_by_qa_at) AS verified_by_qa_at,
       q.id AS qa_signature_id, q.key_id AS qa_key_id, q.signature AS qa_signature
  FROM restore_test_register t
  LEFT JOIN LATERAL (SELECT * FROM signatures g WHERE g.kind = 'qa-verification' AND g.subject = 'restore_test:' || t.id ORDER BY g.id LIMIT 1) q ON true;

CREATE VIEW backup_rows AS
SELECT b.id, b.run_id, b.client, b.taken_at, b.type, b.file, b.key, b.format, b.engine, b.size_bytes,
       coalesce(v.ok, b.verified) AS verified, coalesce(v.at, b.verified_at) AS verified_at, b.executed_by, b.result,
       concat_ws('; ', nullif(b.observations, ''), o.notes) AS observations,
       b.sha256, b.tables_counted, b.locations, b.manifest, coalesce(d.at, b.deleted_at) AS deleted_at, b.chain_seq, b.row_hash
  FROM backup_register b
  LEFT JOIN LATERAL (SELECT e.ok, e.at FROM backup_register_events e WHERE e.backup_id = b.id AND e.kind = 'verification' ORDER BY e.id DESC LIMIT 1) v ON true
  LEFT JOIN LATERAL (SELECT min(e.at) AS at FROM backup_register_events e WHERE e.backup_id = b.id AND e.kind = 'deletion') d ON true
  LEFT JOIN LATERAL (SELECT string_agg(e.note, '; ' ORDER BY e.id) AS notes FROM backup_register_events e WHERE e.backup_id = b.id AND e.note <> '') o ON true;

-- ---- append-only, for every evidence table ----------------------------------------------------------------
CREATE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is evidence (append-only): % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER audit_log_no_update_delete ON audit_log;
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP FUNCTION audit_log_append_only();
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_log', 'backup_register', 'backup_register_events', 'restore_test_register', 'restore_incidents', 'approvals', 'signatures', 'chain_heads'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION evidence_append_only()', t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION evidence_append_only()', t || '_no_truncate', t);
  END LOOP;
END;
$$;
