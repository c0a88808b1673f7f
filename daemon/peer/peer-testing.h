/* peer-testing.h: hooks for tests only (tests/peer), in the static library
 * chatd_peer_testing (daemon/peer/peer-testing.c), which the daemon does not
 * link: the chatd binary contains none of them.  They look at secrets the
 * way a thief who copies the process memory would. */
#pragma once
#include "peer-handshake.h"
#include "peer-session.h"

/* A copy of the handshake's ephemeral key exchange secret while it still
 * has one (from the start for an initiator, after PEER_INIT for a
 * responder), NULL once the handshake is DONE or FAILED (it was wiped). */
ChatdSecret *chatd_peer_handshake_copy_ephemeral_for_testing (const ChatdPeerHandshake *handshake);
/* TRUE while the handshake holds the ephemeral or the derived key block. */
gboolean     chatd_peer_handshake_holds_secrets_for_testing  (const ChatdPeerHandshake *handshake);

/* What a thief who dumps the session's memory now gets of its receiving
 * side: a receive-only session with a copy of the receive ratchet (the
 * current chain key and the skipped keys).  It must open the messages not
 * yet received, and none that were. */
ChatdPeerSession *chatd_peer_session_copy_receive_state_for_testing (const ChatdPeerSession *session);

/* The key schedule replayed from a recorded handshake (PEER_INIT and
 * PEER_RESPONSE) with one side's ephemeral key exchange secret (secret_of
 * says whose): the same transcript and derivation code the handshake runs.
 * Gives a receive-only view of the session as seen by as_role (it opens
 * what the other side sent; it cannot seal).  The identities are the two
 * public keys (initiator, responder).  For the forward-secrecy test. */
ChatdPeerSession *chatd_peer_handshake_replay (const ChatdSuite *suite, GBytes *init,
                                               GBytes *response,
                                               const ChatdKey *initiator_key,
                                               const ChatdKey *responder_key,
                                               ChatdPeerRole secret_of, const guint8 *kx_secret,
                                               gsize kx_secret_len, ChatdPeerRole as_role,
                                               GError **error);

/* TRUE if any of the receive ratchet's work buffers (the last peek's key and
 * chain key, the scratch and digest of the hash) holds a non-zero byte or
 * a peek is pending: between messages they must all be wiped. */
gboolean chatd_peer_session_holds_pending_for_testing (const ChatdPeerSession *session);
/* The same for the send ratchet's hash buffers (after a seal, even a failed one). */
gboolean chatd_peer_session_send_scratch_dirty_for_testing (const ChatdPeerSession *session);

/* What an attacker who knows the handshake keys (e.g. holds one side's
 * ephemeral) can do, using the keys of h (which must hold them: a
 * responder waiting for PEER_FINISH): open the proof of a message sent by
 * role of into its signature and MAC, and seal a proof of any signature and
 * MAC as role of. */
gboolean chatd_peer_handshake_open_proof_for_testing (const ChatdPeerHandshake *h, ChatdPeerRole of,
                                                      GBytes *message, GBytes **ret_signature,
                                                      GBytes **ret_mac);
GBytes  *chatd_peer_handshake_seal_proof_for_testing (const ChatdPeerHandshake *h, ChatdPeerRole of,
                                                      GBytes *signature, GBytes *mac);
