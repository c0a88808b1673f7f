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
