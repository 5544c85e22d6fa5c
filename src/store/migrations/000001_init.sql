-- backup-bot state: runs, the SOP-001 registers (sections 11 and 12), approvals and the audit log.
-- Everything lives in the schema backup_bot; migrations are applied in order, once.

CREATE TABLE runs (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('backup', 'verify', 'restore_test', 'restore', 'prune', 'integrity_check', 'digest', 'watchdog', 'job')),
  client        text,
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'skipped')),
  trigger       text NOT NULL DEFAULT 'cli' CHECK (trigger IN ('cli', 'slack', 'schedule', 'system')),
  actor         text NOT NULL,
  step          text,
  timeline      jsonb NOT NULL DEFAULT '[]'::jsonb,
  error         text,
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  host          text,
  pid           integer,
  instance      integer,
  slack_channel text,
  slack_ts      text
);
CREATE INDEX runs_client_kind_started ON runs (client, kind, started_at DESC);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

-- SOP-001 section 11 "Registro de Backups": Fecha, Hora, Tipo, Archivo, Tamano, Verificado,
-- Ejecutado Por, Resultado, Observaciones; plus sha256, tables counted and locations.
CREATE TABLE backup_register (
  id             bigserial PRIMARY KEY,
  run_id         bigint REFERENCES runs(id),
  client         text NOT NULL,
  taken_at       timestamptz NOT NULL,
  type           text NOT NULL CHECK (type IN ('scheduled', 'manual', 'pre-change', 'pre-restore')),
  file           text,
  key            text,
  format         text,
  engine         text,
  size_bytes     bigint,
  verified       boolean NOT NULL DEFAULT false,
  verified_at    timestamptz,
  executed_by    text NOT NULL,
  result         text NOT NULL CHECK (result IN ('OK', 'Error')),
  observations   text NOT NULL DEFAULT '',
  sha256         text,
  tables_counted integer,
  locations      jsonb NOT NULL DEFAULT '[]'::jsonb,
  manifest       jsonb,
  deleted_at     timestamptz
);
CREATE INDEX backup_register_client_taken ON backup_register (client, taken_at DESC);
CREATE UNIQUE INDEX backup_register_client_key ON backup_register (client, key) WHERE key IS NOT NULL;

-- SOP-001 section 12 "Registro de Pruebas de Restore": Fecha, Trimestre, Backup Usado, Ambiente,
-- Tiempo Restore, Registros Verificados, Ejecutado Por, Verificado Por (QA), Resultado, Observaciones.
CREATE TABLE restore_test_register (
  id                 bigserial PRIMARY KEY,
  run_id             bigint REFERENCES runs(id),
  client             text NOT NULL,
  tested_at          timestamptz NOT NULL,
  quarter            text NOT NULL CHECK (quarter ~ '^[0-9]{4}-Q[1-4]$'),
  backup_used        text,
  environment        text NOT NULL DEFAULT 'Test' CHECK (environment IN ('Test', 'Prod')),
  restore_minutes    numeric(10, 2),
  records_verified   jsonb NOT NULL DEFAULT '{}'::jsonb,
  checks             jsonb NOT NULL DEFAULT '[]'::jsonb,
  executed_by        text NOT NULL,
  verified_by_qa     text,
  verified_by_qa_id  text,
  verified_by_qa_at  timestamptz,
  result             text NOT NULL CHECK (result IN ('OK', 'Fail')),
  observations       text NOT NULL DEFAULT '',
  approval_id        bigint
);
CREATE INDEX restore_test_register_client ON restore_test_register (client, tested_at DESC);

-- Production restore requests and their written (signed) decision.
CREATE TABLE approvals (
  id               bigserial PRIMARY KEY,
  client           text NOT NULL,
  scope            text NOT NULL CHECK (scope IN ('full', 'partial')),
  tables           jsonb NOT NULL DEFAULT '[]'::jsonb,
  backup_id        bigint REFERENCES backup_register(id),
  backup_key       text NOT NULL,
  reason           text NOT NULL,
  ticket           text,
  planned_start    timestamptz,
  checklist        jsonb NOT NULL DEFAULT '[]'::jsonb,
  requested_by     text NOT NULL,
  requested_by_name text,
  requested_at     timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  request_hash     text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'running', 'completed', 'failed', 'rolled_back', 'interrupted')),
  decided_by       text,
  decided_by_name  text,
  decided_role     text,
  decided_at       timestamptz,
  meaning          text CHECK (meaning IN ('approved', 'rejected')),
  statement        text,
  signature_hash   text,
  reject_reason    text,
  last_step        text,
  run_id           bigint REFERENCES runs(id),
  slack_channel    text,
  slack_ts         text
);
CREATE INDEX approvals_client_status ON approvals (client, status);

-- Append-only audit trail (21 CFR 11.10(e), EU GMP Annex 11 §9).
CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor   text NOT NULL,
  action  text NOT NULL,
  client  text,
  target  text,
  reason  text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_client_at ON audit_log (client, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Watchdog incidents: one open row per (client, kind) until resolved.
CREATE TABLE alerts (
  id           bigserial PRIMARY KEY,
  client       text NOT NULL,
  kind         text NOT NULL,
  severity     text NOT NULL DEFAULT 'S2',
  message      text NOT NULL,
  opened_at    timestamptz NOT NULL DEFAULT now(),
  resolved_at  timestamptz,
  slack_channel text,
  slack_ts     text
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (client, kind) WHERE resolved_at IS NULL;

-- Last time each scheduled job ran (for catching up a schedule missed while the bot was down).
CREATE TABLE job_state (
  job        text NOT NULL,
  client     text NOT NULL DEFAULT '',
  last_fire  timestamptz NOT NULL,
  PRIMARY KEY (job, client)
);
