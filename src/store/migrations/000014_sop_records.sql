-- SOP-001 records in full (issue 17).
-- Columns added to evidence tables are hashed only when they hold a value (src/store/chain.ts CHAIN_ADDED), so
-- the rows written before them keep their hashes.

-- ---- §7.1 / §11: a pre-change backup names the ticket and the reason it was taken for -------------------
ALTER TABLE backup_register ADD COLUMN ticket text, ADD COLUMN reason text;

CREATE OR REPLACE VIEW backup_rows AS
SELECT b.id, b.run_id, b.client, b.taken_at, b.type, b.file, b.key, b.format, b.engine, b.size_bytes,
       coalesce(v.ok, b.verified) AS verified, coalesce(v.at, b.verified_at) AS verified_at, b.executed_by, b.result,
       concat_ws('; ', nullif(b.observations, ''), o.notes) AS observations,
       b.sha256, b.tables_counted, b.locations, b.manifest, coalesce(d.at, b.deleted_at) AS deleted_at, b.chain_seq, b.row_hash,
       b.ticket, b.reason
  FROM backup_register b
  LEFT JOIN LATERAL (SELECT e.ok, e.at FROM backup_register_events e WHERE e.backup_id = b.id AND e.kind = 'verification' ORDER BY e.id DESC LIMIT 1) v ON true
  LEFT JOIN LATERAL (SELECT min(e.at) AS at FROM backup_register_events e WHERE e.backup_id = b.id AND e.kind = 'deletion') d ON true
  LEFT JOIN LATERAL (SELECT string_agg(e.note, '; ' ORDER BY e.id) AS notes FROM backup_register_events e WHERE e.backup_id = b.id AND e.note <> '') o ON true;

-- ---- §13.5: the incident register. An incident is its first row; every later entry (an alert resolved, a
-- person's cause / corrective action / responsible, the close) is a new row naming it in incident_id. ----
ALTER TABLE restore_incidents
  ADD COLUMN incident_id bigint REFERENCES restore_incidents(id),
  ADD COLUMN status text CHECK (status IN ('open', 'resolved', 'closed')),
  ADD COLUMN severity text,
  ADD COLUMN source text,
  ADD COLUMN cause text,
  ADD COLUMN responsible text,
  ADD COLUMN closed_at timestamptz,
  ADD COLUMN recorded_by text;
CREATE INDEX restore_incidents_incident ON restore_incidents (incident_id, id);

-- One row per incident as it stands now: its first row's date, system and description, the latest value of
-- every field a later entry set, and its status (rows written before statuses existed are open).
CREATE VIEW incident_rows AS
SELECT f.id, f.client, f.at AS opened_at, f.description, f.approval_id, f.severity, f.source,
       coalesce(l.status, 'open') AS status,
       coalesce((SELECT u.backup_used FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.backup_used IS NOT NULL ORDER BY u.id DESC LIMIT 1), '') AS backup_used,
       (SELECT u.recovery_minutes FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.recovery_minutes IS NOT NULL ORDER BY u.id DESC LIMIT 1) AS recovery_minutes,
       coalesce((SELECT u.data_lost FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.data_lost <> '' ORDER BY u.id DESC LIMIT 1), '') AS data_lost,
       coalesce((SELECT u.corrective_actions FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.corrective_actions <> '' ORDER BY u.id DESC LIMIT 1), '') AS corrective_actions,
       coalesce((SELECT u.cause FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.cause IS NOT NULL ORDER BY u.id DESC LIMIT 1), '') AS cause,
       coalesce((SELECT u.responsible FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.responsible IS NOT NULL ORDER BY u.id DESC LIMIT 1), '') AS responsible,
       (SELECT u.closed_at FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id AND u.closed_at IS NOT NULL ORDER BY u.id DESC LIMIT 1) AS closed_at,
       l.at AS updated_at, l.id AS last_entry_id, f.chain_seq, f.row_hash,
       (SELECT count(*) FROM restore_incidents u WHERE u.incident_id = f.id)::int AS updates
  FROM restore_incidents f
  JOIN LATERAL (SELECT u.* FROM restore_incidents u WHERE coalesce(u.incident_id, u.id) = f.id ORDER BY u.id DESC LIMIT 1) l ON true
 WHERE f.incident_id IS NULL;

-- ---- alerts (state, not evidence): the incident each one opened -----------------------------------------
ALTER TABLE alerts ADD COLUMN incident_id bigint REFERENCES restore_incidents(id);
