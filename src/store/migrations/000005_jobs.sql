-- Scheduled jobs: since when a job has been scheduled for a client (the watchdog's reference
-- for a client that has no verified backup yet), and what each alert was about.

ALTER TABLE job_state
  ADD COLUMN since timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE alerts
  ADD COLUMN details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN resolved_message text;

CREATE INDEX alerts_client_opened ON alerts (client, opened_at DESC);
