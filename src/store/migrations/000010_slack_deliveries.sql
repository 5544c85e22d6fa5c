-- Slack deliveries already handled: a retry or replay of the same delivery acts once across
-- replicas and restarts. The key names the delivery (event_id, trigger_id, action_ts + action + user,
-- view id + hash for submissions); the first INSERT wins. Rows older than a day are pruned.

CREATE TABLE slack_deliveries (
  key           text PRIMARY KEY,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  retry_num     integer,
  retry_reason  text,
  instance      integer
);

CREATE INDEX slack_deliveries_first_seen ON slack_deliveries (first_seen_at);
