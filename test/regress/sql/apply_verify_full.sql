\set QUIET off
-- Verification level full (docs/verification.md): a message is applied only once its
-- signer is a key of its fid; until then it waits in held_messages, in any order.
-- Entries of several kinds in one call (beside setup.sql's one-kind pg_temp.apply).
CREATE FUNCTION pg_temp.apply(kinds text[], VARIADIC p bytea[]) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT CASE WHEN NOT applied THEN 'rejected: ' || reason ELSE coalesce(reason, 'ok') END
  FROM waypoint.apply_payloads(kinds, p) ORDER BY ord
$$;
CREATE FUNCTION pg_temp.state() RETURNS TABLE (casts text, held text) LANGUAGE sql AS $$
  SELECT (SELECT coalesce(string_agg(fid || ':' || text, ', ' ORDER BY fid), '-') FROM waypoint.casts_live),
         (SELECT coalesce(string_agg(fid || ':' || kind || ':' || source, ', ' ORDER BY fid), '-')
            FROM waypoint.held_messages)
$$;
SELECT pg_temp.fresh();
RESET client_min_messages;

-- Messages first: both held (fid 1001's key never comes), then the key of fid 1000.
SELECT pg_temp.apply(ARRAY['full:event', 'full:event'], :'ev_kf1', :'ev_kf2');
SELECT * FROM pg_temp.state();
SELECT pg_temp.apply(ARRAY['event'], :'ev_signer_s1');
SELECT * FROM pg_temp.state();
SELECT fid, key = '\x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a'::bytea AS key_5a, active
  FROM waypoint.signers;
-- Held again (a duplicate) is kept once; applying a known key's message again changes nothing.
SELECT pg_temp.apply(ARRAY['full:event', 'full:message'], :'ev_kf2', :'msg_kf1');
SELECT * FROM pg_temp.state();

-- Key first, then the message (a backfill page): applied at once.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply(ARRAY['onchain'], :'onchain_signer');
SELECT pg_temp.apply(ARRAY['full:message'], :'msg_kf1');
SELECT * FROM pg_temp.state();

-- Key and message in one batch, the key after the message: applied in that batch.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply(ARRAY['full:event', 'event'], :'ev_kf1', :'ev_signer_s1');
SELECT * FROM pg_temp.state();

-- Entries not written at level full are applied as before, whatever their signer.
SELECT pg_temp.apply(ARRAY['event'], :'ev_kf2');
SELECT * FROM pg_temp.state();

-- A key removal: what the key signed after it is applied dead (revoked), in either order;
-- what it signed before stays (the node no longer revokes on removal).
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply(ARRAY['event', 'full:event', 'full:event'], :'ev_signer_s1', :'ev_kf1', :'ev_kf3');
SELECT * FROM pg_temp.state();
SELECT pg_temp.apply(ARRAY['full:event'], :'ev_signer_rm');
SELECT * FROM pg_temp.state();
SELECT fid, active, removed_at IS NOT NULL AS removed FROM waypoint.signers;
SELECT count(*) AS revoked FROM waypoint.messages WHERE revoked_at IS NOT NULL;
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply(ARRAY['event', 'full:event'], :'ev_signer_s1', :'ev_signer_rm');
SELECT pg_temp.apply(ARRAY['full:event', 'full:event'], :'ev_kf3', :'ev_kf1');
SELECT * FROM pg_temp.state();
SELECT count(*) AS revoked FROM waypoint.messages WHERE revoked_at IS NOT NULL;
-- The removal before the key's add, the message before both (all held, then judged).
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply(ARRAY['full:event', 'full:event'], :'ev_kf3', :'ev_kf1');
SELECT pg_temp.apply(ARRAY['full:event'], :'ev_signer_rm');
SELECT pg_temp.apply(ARRAY['event'], :'ev_signer_s1');
SELECT * FROM pg_temp.state();
