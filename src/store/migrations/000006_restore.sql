-- Production restores: the request's measured impact, the runbook's progress, the database kept aside
-- after a swap, and SOP-001 section 13.5 "Historial de Incidentes de Restore".

ALTER TABLE approvals
  ADD COLUMN strategy                 text CHECK (strategy IN ('swap', 'replace', 'partial')),
  ADD COLUMN backup_file              text,
  ADD COLUMN backup_sha256            text,
  ADD COLUMN backup_taken_at          timestamptz,
  -- "how much data will be lost" and the expected downtime, computed when the request was made (part of the signed request)
  ADD COLUMN impact                   jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN started_by               text,
  ADD COLUMN started_by_name          text,
  ADD COLUMN started_at               timestamptz,
  ADD COLUMN finished_at              timestamptz,
  ADD COLUMN error                    text,
  ADD COLUMN steps                    jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN pre_restore_backup_id    bigint REFERENCES backup_register(id),
  ADD COLUMN restore_database         text,
  ADD COLUMN old_database             text,
  ADD COLUMN old_database_drop_after  timestamptz,
  ADD COLUMN old_database_dropped_at  timestamptz,
  ADD COLUMN register_id              bigint REFERENCES restore_test_register(id),
  ADD COLUMN runbook_instance         integer,
  ADD COLUMN runbook_message_channel  text,
  ADD COLUMN runbook_message_ts       text;

CREATE INDEX approvals_old_database ON approvals (old_database_drop_after) WHERE old_database IS NOT NULL AND old_database_dropped_at IS NULL;

-- SOP-001 13.5: Fecha, Descripcion del Incidente, Backup Usado, Tiempo de Recuperacion, Datos Perdidos, Acciones Correctivas.
CREATE TABLE restore_incidents (
  id                  bigserial PRIMARY KEY,
  approval_id         bigint REFERENCES approvals(id),
  client              text NOT NULL,
  at                  timestamptz NOT NULL,
  description         text NOT NULL,
  backup_used         text,
  recovery_minutes    numeric(10, 2),
  data_lost           text NOT NULL DEFAULT '',
  corrective_actions  text NOT NULL DEFAULT ''
);
CREATE INDEX restore_incidents_client ON restore_incidents (client, at);
