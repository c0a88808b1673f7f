/* peer-keys.h: the key schedule of a peer session.  From the ephemeral key
 * exchange's shared secret and the transcript hash, the suite's KDF derives
 * one block, cut in this order:
 *
 *   transport key  initiator->responder, responder->initiator (aead_key_len each)
 *   chain key      initiator->responder, responder->initiator (kdf_len each)
 *   receipt key    initiator->responder, responder->initiator (kdf_len each)
 *   confirm key    initiator, responder                      (kdf_len each)
 *   session id     16 bytes
 *   handshake key  initiator->responder, responder->initiator (aead_key_len
 *                  each; seal the proofs of PEER_RESPONSE and PEER_FINISH)
 *
 *   block = KDF(salt = transcript hash, ikm = shared secret,
 *               info = "chatd/1/peer-session-keys\0", length)
 *
 * The handshake and anything that replays a recorded handshake (the
 * forward-secrecy test) run this same code. */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"
#include "peer-wire.h"

typedef enum {
  CHATD_PEER_ROLE_INITIATOR = 0,
  CHATD_PEER_ROLE_RESPONDER = 1,
} ChatdPeerRole;

/* directions, for the arrays below */
enum { CHATD_PEER_I2R = 0, CHATD_PEER_R2I = 1 };

typedef struct {
  ChatdSecret  *block;
  const guint8 *transport[2];   /* [CHATD_PEER_I2R], [CHATD_PEER_R2I] */
  const guint8 *chain[2];
  const guint8 *receipt[2];     /* MACs the receipts for messages of that direction */
  const guint8 *confirm[2];     /* [CHATD_PEER_ROLE_INITIATOR], [..._RESPONDER] */
  const guint8 *session_id;     /* CHATD_PEER_SESSION_ID_LEN bytes */
  const guint8 *handshake[2];   /* [CHATD_PEER_I2R], [CHATD_PEER_R2I] */
} ChatdPeerKeys;

/* The suite needs CAN_KEY_EXCHANGE, CAN_AEAD and CAN_KDF. */
gboolean      chatd_peer_suite_is_usable (const ChatdSuite *suite, GError **error);
ChatdPeerKeys *chatd_peer_keys_derive    (const ChatdSuite *suite, const guint8 *shared,
                                          gsize shared_len, const guint8 *transcript_hash,
                                          GError **error);
void           chatd_peer_keys_free      (ChatdPeerKeys *keys);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerKeys, chatd_peer_keys_free)
