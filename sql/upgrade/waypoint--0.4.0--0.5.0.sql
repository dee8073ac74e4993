-- waypoint 0.4.0 -> 0.5.0 (ALTER EXTENSION waypoint UPDATE).

-- App keys (KEY_ADD / KEY_REMOVE)
-- waypoint.app_keys (one row per (fid, key): the KEY_ADD the node keeps, or the last one
-- marked removed), waypoint.app_keys_live, waypoint.signers from both sources (new columns
-- source, scopes, ttl after the old ones), state lines for app keys, and the fill of
-- waypoint.app_keys from the KEY_ADD / KEY_REMOVE messages the mirror already holds.
CREATE TABLE waypoint.app_keys (
  fid bigint NOT NULL,
  key bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  key_type int NOT NULL,
  scopes int[] NOT NULL,
  ttl bigint NOT NULL,
  nonce bigint NOT NULL,
  deadline bigint NOT NULL,
  request_fid bigint,
  removed boolean NOT NULL,
  removed_at timestamptz,
  remove_hash bytea,
  remove_event bigint,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fid, key)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('app_keys');

COMMENT ON TABLE waypoint.app_keys IS
  'App keys (KEY_ADD, message type 16), one row per (fid, key): the KEY_ADD the node keeps (the latest merged: a later KEY_ADD of the key replaces it), or the last one, marked removed, once a KEY_REMOVE (type 17) deleted it; a removed key may be added again (docs/apply-semantics.md, "App keys").';
COMMENT ON COLUMN waypoint.app_keys.fid IS 'Fid the key signs for.';
COMMENT ON COLUMN waypoint.app_keys.key IS 'Ed25519 public key (32 bytes).';
COMMENT ON COLUMN waypoint.app_keys.message_hash IS 'Hash of the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys."timestamp" IS 'Timestamp of the winning KEY_ADD (Farcaster time converted): when the key was added or last upserted.';
COMMENT ON COLUMN waypoint.app_keys.key_type IS 'Key type (1 Ed25519).';
COMMENT ON COLUMN waypoint.app_keys.scopes IS 'MessageType values the key may sign.';
COMMENT ON COLUMN waypoint.app_keys.ttl IS 'Sliding lifetime in seconds: the node refuses messages once the key was unused for this long (not tracked by the mirror).';
COMMENT ON COLUMN waypoint.app_keys.nonce IS 'The fid''s user nonce the KEY_ADD consumed.';
COMMENT ON COLUMN waypoint.app_keys.deadline IS 'Deadline of the custody signature (Unix seconds).';
COMMENT ON COLUMN waypoint.app_keys.request_fid IS 'Fid of the app that requested the key (SignedKeyRequest metadata); NULL when the metadata does not decode.';
COMMENT ON COLUMN waypoint.app_keys.removed IS 'True when the node no longer holds the KEY_ADD (a KEY_REMOVE deleted it).';
COMMENT ON COLUMN waypoint.app_keys.removed_at IS 'Timestamp of the KEY_REMOVE that deleted the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.remove_hash IS 'Hash of that KEY_REMOVE (kept in waypoint.messages; the node does not store it).';
COMMENT ON COLUMN waypoint.app_keys.remove_event IS 'Snapchain event id that deleted the winning KEY_ADD, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_at IS 'When the node reported the winning KEY_ADD deleted (event time), while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_reason IS 'deleted while removed (app keys are never reconciled: a backfill cannot read KEY_ADD messages).';
COMMENT ON COLUMN waypoint.app_keys.confirmed_seq IS 'waypoint.apply_seq value of the last batch that offered the current winner.';
COMMENT ON COLUMN waypoint.app_keys.event_id IS 'Latest Snapchain event id that merged the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.updated_at IS 'When this row last changed.';

CREATE VIEW waypoint.app_keys_live AS
  SELECT fid, key, key_type, scopes, ttl, nonce, request_fid, deadline, message_hash AS hash, "timestamp"
  FROM waypoint.app_keys
  WHERE NOT removed;
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); expiry by TTL is not tracked.';

-- Columns after active were added in 0.5.0 (CREATE OR REPLACE VIEW keeps views built on it).
CREATE OR REPLACE VIEW waypoint.signers AS
  SELECT fid, signer_key AS key, max(signer_key_type) AS key_type,
         min(block_timestamp) FILTER (WHERE signer_event_type = 1) AS added_at,
         min(block_timestamp) FILTER (WHERE signer_event_type IN (2, 3)) AS removed_at,
         bool_or(signer_event_type = 1) AND NOT bool_or(signer_event_type IN (2, 3)) AS active,
         'onchain'::text AS source, NULL::int[] AS scopes, NULL::bigint AS ttl
  FROM waypoint.onchain_events WHERE type = 1
  GROUP BY fid, signer_key
  UNION ALL
  SELECT fid, key, key_type::bigint, "timestamp", CASE WHEN removed THEN coalesce(removed_at, dropped_at) END,
         NOT removed, 'app', scopes, ttl
  FROM waypoint.app_keys;
COMMENT ON VIEW waypoint.signers IS 'Every key a fid may sign with now or could before, one row per (fid, key, source): source onchain (key registry events: added, removed by remove or admin reset) or app (KEY_ADD messages, with their scopes and ttl; removed by KEY_REMOVE). active: may sign now (app keys: expiry by TTL not tracked). Verification level full applies a message once its signer is a key of its fid here (docs/verification.md).';

CREATE OR REPLACE FUNCTION waypoint.state_lines() RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT line FROM (
    SELECT 'msg' || E'\t' || 'cast' || E'\t' || encode(message_hash, 'hex') AS line
      FROM waypoint.casts WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'reaction' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.reactions WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'link' || E'\t' || encode(message_hash, 'hex') FROM waypoint.links_held
    UNION ALL
    SELECT 'msg' || E'\t' || 'link_compact_state' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.link_compact_states WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'verification' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.verifications WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'user_data' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.user_data WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'lend_storage' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.lend_storage WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'app_key' || E'\t' || encode(message_hash, 'hex') FROM waypoint.app_keys WHERE NOT removed
    UNION ALL
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
  ) s
  ORDER BY line COLLATE "C";
$$;

GRANT SELECT ON waypoint.app_keys, waypoint.app_keys_live TO PUBLIC;

-- Derives waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages already in
-- waypoint.messages (an upgrade from a version that kept them there only): each KEY_ADD
-- goes through the apply as a candidate without a new event, so its standing (merge and
-- death events) decides as it did when it arrived, and the remove of a removed key is the
-- KEY_REMOVE merged by the event that deleted its KEY_ADD (sql/apply/app_keys.sql).
CREATE FUNCTION waypoint.fill_app_keys() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chunk record;
  n bigint := 0;
BEGIN
  FOR chunk IN
    SELECT array_agg(m.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY fid, hash) - 1) / 5000 AS c
              FROM waypoint.messages WHERE type = 16) AS m
     GROUP BY m.c ORDER BY m.c
  LOOP
    SELECT n + count(*) FILTER (WHERE applied) INTO n
      FROM waypoint.apply_payloads(array_fill('message'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION waypoint.fill_app_keys() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fill_app_keys() IS
  'Internal (the upgrade scripts call it): fills waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages in waypoint.messages; returns the KEY_ADDs applied.';

SELECT waypoint.fill_app_keys();
