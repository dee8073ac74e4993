-- Comments on the apply tables (their columns are documented here, next to no code).
COMMENT ON TABLE waypoint.casts IS 'Casts, one row per (fid, cast hash): the cast add, or the remove that deleted it (a remove always wins).';
COMMENT ON COLUMN waypoint.casts.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.casts.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.casts."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.casts.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.casts.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.casts.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.casts.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.casts.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.casts.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.casts.hash IS 'The casts hash (key): the adds own hash, or the target of a remove.';
COMMENT ON COLUMN waypoint.casts.text IS 'Cast text (NUL characters stripped); NULL when removed.';
COMMENT ON COLUMN waypoint.casts.parent_fid IS 'Fid of the parent cast (replies).';
COMMENT ON COLUMN waypoint.casts.parent_hash IS 'Hash of the parent cast (replies).';
COMMENT ON COLUMN waypoint.casts.parent_url IS 'Parent URL (channel casts).';
COMMENT ON COLUMN waypoint.casts.embeds IS 'Embeds as JSON: [{"url": ...}, {"cast_id": {"fid": n, "hash": "hex"}}].';
COMMENT ON COLUMN waypoint.casts.mentions IS 'Mentioned fids.';
COMMENT ON COLUMN waypoint.casts.mentions_positions IS 'Byte positions of the mentions in text.';
COMMENT ON COLUMN waypoint.casts.cast_type IS 'CastType (0 cast, 1 long cast, 2 10k cast).';
COMMENT ON COLUMN waypoint.casts.root_fid IS 'Thread root: fid of the top cast of this cast''s thread (the cast itself when it replies to no cast). When an ancestor is not held by the node (deleted, pruned, or never seen), the thread stops at it: root_fid/root_hash name that ancestor and root_open is true.';
COMMENT ON COLUMN waypoint.casts.root_hash IS 'Thread root: hash of the top cast (see root_fid). Index: casts_thread_idx (the whole thread of a cast).';
COMMENT ON COLUMN waypoint.casts.root_url IS 'Thread root: the parent URL (channel) of the top cast, when the top cast is held; NULL otherwise.';
COMMENT ON COLUMN waypoint.casts.root_open IS 'True when the thread stops at an ancestor the node does not hold (root_fid/root_hash name it); it closes when that cast arrives.';
COMMENT ON TABLE waypoint.reactions IS 'Reactions, one row per (fid, reaction_type, target): the latest like/recast or its removal.';
COMMENT ON COLUMN waypoint.reactions.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.reactions.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.reactions."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.reactions.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.reactions.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.reactions.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.reactions.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.reactions.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.reactions.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.reactions.reaction_type IS 'ReactionType (1 like, 2 recast).';
COMMENT ON COLUMN waypoint.reactions.target_key IS 'Opaque encoding of the target (cast fid and hash, or url); part of the key.';
COMMENT ON COLUMN waypoint.reactions.target_cast_fid IS 'Fid of the target cast.';
COMMENT ON COLUMN waypoint.reactions.target_cast_hash IS 'Hash of the target cast.';
COMMENT ON COLUMN waypoint.reactions.target_url IS 'Target URL.';
COMMENT ON TABLE waypoint.links IS 'Links (follows), one row per (fid, link_type, target_fid): the latest add or remove.';
COMMENT ON COLUMN waypoint.links.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.links.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.links."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.links.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.links.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.links.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.links.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.links.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.links.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.links.link_type IS 'Link type, e.g. follow.';
COMMENT ON COLUMN waypoint.links.target_fid IS 'Followed fid.';
COMMENT ON COLUMN waypoint.links.display_timestamp IS 'Display timestamp of the link, when set.';
COMMENT ON TABLE waypoint.link_compact_states IS 'Link compact state per (fid, link_type): links at or before its timestamp whose target is not listed are compacted away (see links_live).';
COMMENT ON COLUMN waypoint.link_compact_states.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.link_compact_states.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.link_compact_states."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.link_compact_states.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.link_compact_states.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.link_compact_states.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.link_compact_states.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.link_compact_states.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.link_compact_states.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.link_compact_states.link_type IS 'Link type.';
COMMENT ON COLUMN waypoint.link_compact_states.target_fids IS 'Targets kept by the compaction.';
COMMENT ON TABLE waypoint.verifications IS 'Verified addresses (Ethereum and Solana), one row per (fid, address).';
COMMENT ON COLUMN waypoint.verifications.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.verifications.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.verifications."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.verifications.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.verifications.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.verifications.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.verifications.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.verifications.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.verifications.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.verifications.address IS 'Address bytes (20 Ethereum, 32 Solana).';
COMMENT ON COLUMN waypoint.verifications.protocol IS 'Protocol (0 Ethereum, 1 Solana).';
COMMENT ON COLUMN waypoint.verifications.claim_signature IS 'Claim signature.';
COMMENT ON COLUMN waypoint.verifications.block_hash IS 'Block hash of the claim.';
COMMENT ON COLUMN waypoint.verifications.verification_type IS 'Verification type (0 EOA, 1 contract).';
COMMENT ON COLUMN waypoint.verifications.chain_id IS 'Chain id (contract verifications).';
COMMENT ON TABLE waypoint.user_data IS 'Profile fields, one row per (fid, user_data_type): the latest value.';
COMMENT ON COLUMN waypoint.user_data.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.user_data.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.user_data."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.user_data.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.user_data.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.user_data.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.user_data.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.user_data.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.user_data.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.user_data.user_data_type IS 'UserDataType (1 pfp, 2 display, 3 bio, 5 url, 6 username, 7 location, 8 twitter, 9 github, 10 banner, 11/12 primary address, 13 profile token, 14 live at).';
COMMENT ON COLUMN waypoint.user_data.value IS 'Field value.';
COMMENT ON TABLE waypoint.username_proof_messages IS 'Username proofs submitted as messages (type 12: ENS, basenames), one row per name.';
COMMENT ON COLUMN waypoint.username_proof_messages.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.username_proof_messages.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.username_proof_messages."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.username_proof_messages.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.username_proof_messages.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.username_proof_messages.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.username_proof_messages.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.username_proof_messages.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.username_proof_messages.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.username_proof_messages.name IS 'The name (key).';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_fid IS 'Fid named in the proof.';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_timestamp IS 'Proof timestamp (Unix seconds).';
COMMENT ON COLUMN waypoint.username_proof_messages.owner IS 'Owner address.';
COMMENT ON COLUMN waypoint.username_proof_messages.signature IS 'Proof signature.';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_type IS 'UserNameType (1 fname, 2 ENS, 3 basename).';
COMMENT ON TABLE waypoint.lend_storage IS 'Storage lends, one row per (fid, to_fid): the latest lend.';
COMMENT ON COLUMN waypoint.lend_storage.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.lend_storage.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.lend_storage."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.lend_storage.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.lend_storage.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.lend_storage.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.lend_storage.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.lend_storage.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.lend_storage.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.lend_storage.to_fid IS 'Borrowing fid.';
COMMENT ON COLUMN waypoint.lend_storage.num_units IS 'Units lent (0 revokes).';
COMMENT ON COLUMN waypoint.lend_storage.unit_type IS 'StorageUnitType (0 legacy, 1 2024, 2 2025).';
COMMENT ON TABLE waypoint.username_proofs IS 'Username proofs from MERGE_USERNAME_PROOF events and fname backfill, one row per name: the highest proof by (timestamp, signature).';
COMMENT ON COLUMN waypoint.username_proofs.name IS 'The name (key).';
COMMENT ON COLUMN waypoint.username_proofs.fid IS 'Current holder; 0 means released.';
COMMENT ON COLUMN waypoint.username_proofs.owner IS 'Owner address.';
COMMENT ON COLUMN waypoint.username_proofs.signature IS 'Proof signature.';
COMMENT ON COLUMN waypoint.username_proofs."timestamp" IS 'Proof timestamp (Unix seconds).';
COMMENT ON COLUMN waypoint.username_proofs.proof_type IS 'UserNameType (1 fname, 2 ENS, 3 basename).';
COMMENT ON COLUMN waypoint.username_proofs.deleted IS 'The node reported this proof deleted (it holds no proof for the name).';
COMMENT ON COLUMN waypoint.username_proofs.raw IS 'UserNameProof bytes.';
COMMENT ON COLUMN waypoint.username_proofs.updated_at IS 'When this row last changed.';
COMMENT ON TABLE waypoint.onchain_events IS 'On-chain events, one row per (transaction_hash, log_index) whatever number of shards sent it.';
COMMENT ON COLUMN waypoint.onchain_events.transaction_hash IS 'Transaction hash.';
COMMENT ON COLUMN waypoint.onchain_events.log_index IS 'Log index.';
COMMENT ON COLUMN waypoint.onchain_events.type IS 'OnChainEventType (1 signer, 2 signer migrated, 3 id register, 4 storage rent, 5 tier purchase, 6 channel register).';
COMMENT ON COLUMN waypoint.onchain_events.chain_id IS 'Chain id.';
COMMENT ON COLUMN waypoint.onchain_events.block_number IS 'Block number.';
COMMENT ON COLUMN waypoint.onchain_events.block_hash IS 'Block hash.';
COMMENT ON COLUMN waypoint.onchain_events.block_timestamp IS 'Block time (Unix seconds).';
COMMENT ON COLUMN waypoint.onchain_events.tx_index IS 'Transaction index.';
COMMENT ON COLUMN waypoint.onchain_events.fid IS 'Fid.';
COMMENT ON COLUMN waypoint.onchain_events.version IS 'Event version.';
COMMENT ON COLUMN waypoint.onchain_events.signer_key IS 'Signer: key.';
COMMENT ON COLUMN waypoint.onchain_events.signer_key_type IS 'Signer: key type.';
COMMENT ON COLUMN waypoint.onchain_events.signer_event_type IS 'Signer: 1 add, 2 remove, 3 admin reset.';
COMMENT ON COLUMN waypoint.onchain_events.signer_metadata IS 'Signer: metadata (NULL when empty).';
COMMENT ON COLUMN waypoint.onchain_events.signer_metadata_type IS 'Signer: metadata type.';
COMMENT ON COLUMN waypoint.onchain_events.migrated_at IS 'Signer migrated: time.';
COMMENT ON COLUMN waypoint.onchain_events.id_to IS 'Id register: to address.';
COMMENT ON COLUMN waypoint.onchain_events.id_event_type IS 'Id register: 1 register, 2 transfer, 3 change recovery.';
COMMENT ON COLUMN waypoint.onchain_events.id_from IS 'Id register: from address.';
COMMENT ON COLUMN waypoint.onchain_events.id_recovery IS 'Id register: recovery address.';
COMMENT ON COLUMN waypoint.onchain_events.rent_payer IS 'Storage rent: payer.';
COMMENT ON COLUMN waypoint.onchain_events.rent_units IS 'Storage rent: units.';
COMMENT ON COLUMN waypoint.onchain_events.rent_expiry IS 'Storage rent: expiry.';
COMMENT ON COLUMN waypoint.onchain_events.tier_type IS 'Tier purchase: tier (1 Pro).';
COMMENT ON COLUMN waypoint.onchain_events.tier_for_days IS 'Tier purchase: days.';
COMMENT ON COLUMN waypoint.onchain_events.tier_payer IS 'Tier purchase: payer.';
COMMENT ON COLUMN waypoint.onchain_events.channel_key IS 'Channel register: channel key.';
COMMENT ON COLUMN waypoint.onchain_events.raw IS 'OnChainEvent bytes.';
COMMENT ON COLUMN waypoint.onchain_events.first_seen_at IS 'When this database first saw the event.';

-- Reconciliation columns (docs/apply-semantics.md, "Backfill reconciliation").
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['casts', 'reactions', 'links', 'link_compact_states', 'verifications', 'user_data',
                           'username_proof_messages', 'lend_storage'] LOOP
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.dropped_reason IS %L', t,
      'Why dropped_at is set: deleted (the node reported the winner deleted) or reconciled (a completed backfill of the fid did not return it: the node no longer holds it). Cleared when the winner is offered again.');
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.event_id IS %L', t,
      'Latest Snapchain event id that merged the current winner (NULL: known from backfill pages or tombstones only).');
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.confirmed_seq IS %L', t,
      'waypoint.apply_seq value of the last batch that offered the current winner (0 = before reconciliation existed).');
  END LOOP;
END $$;
COMMENT ON COLUMN waypoint.username_proofs.confirmed_seq IS
  'waypoint.apply_seq value of the last batch that offered the current proof.';
COMMENT ON COLUMN waypoint.username_proofs.reconciled_at IS
  'Set when a completed backfill of the holder fid did not return this proof (the node no longer holds it); cleared when the proof is offered again. Such names are not in waypoint.fnames.';
COMMENT ON TABLE waypoint.backfill_fid_starts IS
  'Per backfill job and fid: the apply sequence at its fid_start marker; at fid_done (status ok) rows of the fid not offered since then are reconciled (marked gone).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.job_id IS 'Backfill job id.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.fid IS 'Backfilled fid.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.start_seq IS 'waypoint.apply_seq of the batch that applied the latest fid_start of this (job, fid).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.stores IS 'Stores being backfilled (sidecar names: cast, reaction, link, ...); empty = all.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.fids_total IS 'Number of fids of the job as the sidecar counted them (all-fid jobs included).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.started_at IS 'When the latest fid_start was applied.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.reconciled_at IS 'When the fid_done (status ok) reconciliation ran.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.reconciled_rows IS 'Rows that reconciliation marked gone (store rows and username proofs).';
COMMENT ON TABLE waypoint.held_messages IS
  'Verification level full: entries whose message is signed by a key not (yet) added for its fid, not applied; applied and removed from here when the key''s on-chain add is (docs/verification.md).';

-- App keys (KEY_ADD / KEY_REMOVE).
COMMENT ON TABLE waypoint.app_keys IS
  'App keys (KEY_ADD, message type 16), one row per (fid, key): the KEY_ADD the node keeps (the latest merged: a later KEY_ADD of the key replaces it), or the last one, marked removed, once a KEY_REMOVE (type 17) deleted it; a removed key may be added again; or, written by a backfill from the node''s key state (GetSignersByFid), the key as the node lists it, without its message (message_hash NULL) (docs/apply-semantics.md, "App keys").';
COMMENT ON COLUMN waypoint.app_keys.fid IS 'Fid the key signs for.';
COMMENT ON COLUMN waypoint.app_keys.key IS 'Ed25519 public key (32 bytes).';
COMMENT ON COLUMN waypoint.app_keys.message_hash IS 'Hash of the winning KEY_ADD; NULL when the row comes from the node''s key state read by a backfill (no message), until the stream brings that KEY_ADD or a later one.';
COMMENT ON COLUMN waypoint.app_keys."timestamp" IS 'Timestamp of the winning KEY_ADD (Farcaster time converted): when the key was added or last upserted.';
COMMENT ON COLUMN waypoint.app_keys.key_type IS 'Key type (1 Ed25519).';
COMMENT ON COLUMN waypoint.app_keys.scopes IS 'MessageType values the key may sign.';
COMMENT ON COLUMN waypoint.app_keys.ttl IS 'Sliding lifetime in seconds: the node refuses messages once the key was unused for this long (waypoint.signers shows expires_at and expired).';
COMMENT ON COLUMN waypoint.app_keys.last_used_at IS 'The node''s anchor of the sliding TTL as a backfill read it from the node''s key state (the KEY_ADD''s timestamp, moved by each message the key signed); NULL for a row from a KEY_ADD message, whose anchor waypoint.signers derives from the messages.';
COMMENT ON COLUMN waypoint.app_keys.nonce IS 'The fid''s user nonce the KEY_ADD consumed: it orders the KEY_ADDs of a fid, and so a backfill''s key state against the KEY_ADD messages.';
COMMENT ON COLUMN waypoint.app_keys.deadline IS 'Deadline of the custody signature (Unix seconds); NULL for a row from a backfill (the node''s key state does not carry it).';
COMMENT ON COLUMN waypoint.app_keys.request_fid IS 'Fid of the app that requested the key (SignedKeyRequest metadata); NULL when the metadata does not decode.';
COMMENT ON COLUMN waypoint.app_keys.removed IS 'True when the node no longer holds the KEY_ADD (a KEY_REMOVE deleted it).';
COMMENT ON COLUMN waypoint.app_keys.removed_at IS 'Timestamp of the KEY_REMOVE that deleted the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.remove_hash IS 'Hash of that KEY_REMOVE (kept in waypoint.messages; the node does not store it).';
COMMENT ON COLUMN waypoint.app_keys.remove_event IS 'Snapchain event id that deleted the winning KEY_ADD, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_at IS 'When the node reported the winning KEY_ADD deleted (event time), or when a backfill reconciled the key away, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_reason IS 'While removed: deleted (a KEY_REMOVE deleted the KEY_ADD) or reconciled (a completed backfill found the key no longer listed by the node).';
COMMENT ON COLUMN waypoint.app_keys.confirmed_seq IS 'waypoint.apply_seq value of the last batch that offered the current winner.';
COMMENT ON COLUMN waypoint.app_keys.event_id IS 'Latest Snapchain event id that merged the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.updated_at IS 'When this row last changed.';

-- Channels (docs/apply-semantics.md, "Channels").
COMMENT ON TABLE waypoint.channel_registry_events IS
  'Every CHANNEL_REGISTER on-chain event (type 6) as it came, one row per (transaction hash, log index); waypoint.channels folds them in chain order.';
COMMENT ON COLUMN waypoint.channel_registry_events.transaction_hash IS 'Transaction hash of the event.';
COMMENT ON COLUMN waypoint.channel_registry_events.log_index IS 'Log index of the event in its transaction.';
COMMENT ON COLUMN waypoint.channel_registry_events.channel_id IS 'The event''s label: keccak256 of the channel name, the channel id channel messages carry.';
COMMENT ON COLUMN waypoint.channel_registry_events.event_type IS 'ChannelRegisterEventType: 1 register, 2 renew, 3 transfer (0 or unknown: folded by nothing).';
COMMENT ON COLUMN waypoint.channel_registry_events.channel_key IS 'The channel name (empty for transfers).';
COMMENT ON COLUMN waypoint.channel_registry_events.key_matches_label IS 'Whether keccak256(channel_key) equals the label: a register or renew without it is skipped by the node.';
COMMENT ON COLUMN waypoint.channel_registry_events.owner_address IS 'Registrant (register) or receiver (transfer); empty for renews.';
COMMENT ON COLUMN waypoint.channel_registry_events.expiry IS 'Registration expiry (register, renew); NULL when the event carries none. The node never checks it.';
COMMENT ON COLUMN waypoint.channel_registry_events.block_number IS 'Chain block: with tx_index and log_index, the order the fold follows.';
COMMENT ON COLUMN waypoint.channel_registry_events.tx_index IS 'Transaction index in the block.';
COMMENT ON COLUMN waypoint.channel_registry_events.block_timestamp IS 'Time of the chain block.';
COMMENT ON COLUMN waypoint.channel_registry_events.first_seen_at IS 'When this database first saw the event.';

COMMENT ON TABLE waypoint.channel_metadata IS
  'Per channel, the CHANNEL_UPDATE (type 18) the node holds: the newest merge (on data shard 1), whoever wrote it and whatever its timestamp; it is the whole configuration (a field it leaves out is unset).';
COMMENT ON COLUMN waypoint.channel_metadata.channel_id IS 'Channel id (32 bytes, keccak256 of the name).';
COMMENT ON COLUMN waypoint.channel_metadata.name IS 'Display name; NULL when the update leaves it out.';
COMMENT ON COLUMN waypoint.channel_metadata.description IS 'Description; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.image_url IS 'Image URL; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.header IS 'Header image URL; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.rules IS 'Rules text; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.casting_mode IS 'everyone, members_only or recommended (absent or NONE: members_only). Advisory: the node never checks it when a cast merges.';
COMMENT ON COLUMN waypoint.channel_metadata.membership_mode IS 'open (anyone may add themselves) or approval (absent or NONE: approval).';
COMMENT ON COLUMN waypoint.channel_metadata.author_fid IS 'Fid that wrote the update (the owner when the node admitted it).';
COMMENT ON COLUMN waypoint.channel_metadata.message_hash IS 'Hash of the winning CHANNEL_UPDATE.';
COMMENT ON COLUMN waypoint.channel_metadata."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_metadata.merge_event IS 'Event id (data shard 1) of its latest merge: the later merge holds the slot. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_metadata.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_members IS
  'Per (channel, target fid), the CHANNEL_MEMBER (type 19) the node holds (the newest merge on data shard 1) and the state it gives the target; a removed or banned row keeps its slot.';
COMMENT ON COLUMN waypoint.channel_members.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_members.member_fid IS 'The target fid.';
COMMENT ON COLUMN waypoint.channel_members.state IS 'member, moderator, removed or banned, from the winning action (add_member, remove_moderator -> member; add_moderator -> moderator; remove_member, unban -> removed; ban -> banned).';
COMMENT ON COLUMN waypoint.channel_members.action IS 'The winning action: add_member, remove_member, add_moderator, remove_moderator, ban, unban.';
COMMENT ON COLUMN waypoint.channel_members.author_fid IS 'Fid that did it (the target itself for a self-add or a leave).';
COMMENT ON COLUMN waypoint.channel_members.message_hash IS 'Hash of the winning CHANNEL_MEMBER.';
COMMENT ON COLUMN waypoint.channel_members."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_members.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_members.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_pins IS
  'Per channel, the CHANNEL_PIN (type 20) the node holds (the newest merge on data shard 1): the pinned cast, or none after an unpin.';
COMMENT ON COLUMN waypoint.channel_pins.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_pins.cast_hash IS 'Hash of the pinned cast (20 bytes); NULL: unpinned.';
COMMENT ON COLUMN waypoint.channel_pins.author_fid IS 'Fid that pinned or unpinned (owner or moderator when admitted).';
COMMENT ON COLUMN waypoint.channel_pins.message_hash IS 'Hash of the winning CHANNEL_PIN.';
COMMENT ON COLUMN waypoint.channel_pins."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_pins.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_pins.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_moderations IS
  'Per (channel, cast hash), the CHANNEL_MODERATE (type 21) the node holds (the newest merge on data shard 1): whether the cast is hidden in the channel.';
COMMENT ON COLUMN waypoint.channel_moderations.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_moderations.cast_hash IS 'Hash of the moderated cast (20 bytes; the node does not check the cast).';
COMMENT ON COLUMN waypoint.channel_moderations.action IS 'The winning action: hide or unhide.';
COMMENT ON COLUMN waypoint.channel_moderations.hidden IS 'True when the winning action is hide.';
COMMENT ON COLUMN waypoint.channel_moderations.author_fid IS 'Fid that moderated (owner or moderator when admitted).';
COMMENT ON COLUMN waypoint.channel_moderations.message_hash IS 'Hash of the winning CHANNEL_MODERATE.';
COMMENT ON COLUMN waypoint.channel_moderations."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_moderations.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_moderations.updated_at IS 'When the winning message last changed.';
