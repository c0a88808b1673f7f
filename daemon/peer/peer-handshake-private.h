/* peer-handshake-private.h: the handshake's state, for peer-handshake.c and
 * the test-only library (peer-testing.c); nothing else includes it. */
#pragma once
#include "peer-handshake.h"

struct _ChatdPeerHandshake {
  const ChatdSuite       *suite;
  ChatdPeerRole           role;
  ChatdPeerHandshakeState state;
  char                   *self_name;
  char                   *peer_name;
  const ChatdKey         *self_key;
  const ChatdKey         *peer_key;
  ChatdPeerHandshakeConfig config;
  gint64                  deadline_us;
  guint                   dropped;                   /* messages dropped */

  ChatdSecret            *ephemeral;                 /* wiped when the handshake ends */
  guint8                  nonce[2][CHATD_PEER_NONCE_LEN];        /* [role] */
  guint8                  share[2][CHATD_SUITE_SHARE_MAX];       /* [role] */
  gboolean                have_transcript;
  guint8                  transcript_hash[CHATD_SUITE_KDF_LEN_MAX];
  ChatdPeerKeys          *keys;
  ChatdPeerSession       *session;
};

/* The transcript hash and the key schedule, shared by the handshake and the
 * replay of a recorded handshake (peer-testing.c). */
gboolean       chatd_peer_transcript_hash (const ChatdSuite *suite, const ChatdSlice *suite_name,
                                           const ChatdSlice *initiator, const ChatdSlice *responder,
                                           const ChatdKey *initiator_key,
                                           const ChatdKey *responder_key,
                                           const ChatdSlice *nonce_i, const ChatdSlice *share_i,
                                           const ChatdSlice *nonce_r, const ChatdSlice *share_r,
                                           guint8 *ret_hash, GError **error);
ChatdPeerKeys *chatd_peer_derive_keys     (const ChatdSuite *suite, const guint8 *kx_secret,
                                           const guint8 *peer_share, const guint8 *transcript,
                                           GError **error);

/* A proof (signature and confirmation MAC of role of) sealed under the
 * handshake key of of's direction, bound to the transcript, and its
 * opening (CHATD_ERROR_REFUSED if it does not authenticate). */
GBytes  *chatd_peer_seal_proof (const ChatdSuite *suite, const ChatdPeerKeys *keys,
                                const guint8 *transcript, ChatdPeerRole of, GBytes *signature,
                                const guint8 *mac, GError **error);
gboolean chatd_peer_open_proof (const ChatdSuite *suite, const ChatdPeerKeys *keys,
                                const guint8 *transcript, ChatdPeerRole of,
                                const ChatdSlice *proof, GBytes **ret_signature, guint8 *ret_mac,
                                GError **error);
