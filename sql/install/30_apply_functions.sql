-- Apply engine functions.

CREATE FUNCTION waypoint.apply_payloads(kinds text[], payloads bytea[])
RETURNS TABLE (ord int, applied boolean, reason text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'waypoint_apply_payloads';
REVOKE ALL ON FUNCTION waypoint.apply_payloads(text[], bytea[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_payloads(text[], bytea[]) IS
  'Superuser test surface: applies raw payloads (kind event = HubEvent, message = Message, onchain = OnChainEvent, fname = UserNameProof, fid_start/<job>/<fid> and fid_done/<job>/<fid> backfill markers, whose payload is their JSON) exactly as the apply workers do, inside the caller''s transaction. One result row per payload; applied = false with the reason for rejected (undecodable or invalid) payloads.';

-- The database's state as text lines, to compare with the node (docs/state-lines.md).
CREATE FUNCTION waypoint.state_lines() RETURNS SETOF text
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
COMMENT ON FUNCTION waypoint.state_lines() IS
  'The mirror''s state as sorted tab-separated lines (docs/state-lines.md), for comparison with the node''s own dump.';

-- Farcaster data is public: every role may read the mirror (Redis-backed and control
-- objects carry their own grants). Writing stays with the apply workers.
GRANT USAGE ON SCHEMA waypoint TO PUBLIC;
GRANT SELECT ON waypoint.messages, waypoint.casts, waypoint.reactions, waypoint.links,
  waypoint.link_compact_states, waypoint.link_compact_state_history, waypoint.verifications, waypoint.user_data,
  waypoint.username_proof_messages, waypoint.lend_storage, waypoint.username_proofs, waypoint.username_proof_standing,
  waypoint.onchain_events, waypoint.casts_live, waypoint.reactions_live, waypoint.links_held,
  waypoint.links_live, waypoint.link_compact_states_live, waypoint.verifications_live,
  waypoint.user_data_live, waypoint.profiles, waypoint.username_proof_messages_live,
  waypoint.lend_storage_live, waypoint.fnames, waypoint.signer_events,
  waypoint.signer_migrated_events, waypoint.id_register_events, waypoint.storage_rent_events,
  waypoint.tier_purchases, waypoint.signers TO PUBLIC;

-- App keys (KEY_ADD / KEY_REMOVE).
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
