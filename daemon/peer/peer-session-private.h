/* peer-session-private.h: the session's state, for peer-session.c and the
 * test-only library (peer-testing.c); nothing else includes it. */
#pragma once
#include "peer-session.h"
#include "peer-ratchet.h"

struct _ChatdPeerSession {
  const ChatdSuite *suite;
  ChatdPeerRole     role;
  guint8            id[CHATD_PEER_SESSION_ID_LEN];
  ChatdPeerRatchet *send;
  ChatdPeerRatchet *receive;
  ChatdSecret      *send_transport;      /* NULL once the protector took them */
  ChatdSecret      *receive_transport;
  ChatdSecret      *receipt_out;         /* MACs receipts this side sends */
  ChatdSecret      *receipt_in;          /* checks receipts this side gets */
  /* per-message keys: one secure buffer for the sealing key, and one AEAD
   * context per direction re-keyed for each message when the suite has
   * contexts (no cipher set up per message) */
  ChatdSecret      *message_key;
  ChatdAeadContext *seal_context;
  ChatdAeadContext *open_context;
  ChatdPeerLimits   limits;
  gint64            created_us;
  guint64           sealed, opened;
  guint64           send_next;           /* counters below it were handed out */
  GTree            *unacked;             /* guint64 * counter -> hash of its sealed bytes */
};

/* A session that only opens messages (no sending ratchet, receipt or
 * transport keys): what the test hooks and the replay of a recorded
 * handshake give.  Takes receive. */
ChatdPeerSession *chatd_peer_session_new_receive_only (const ChatdSuite *suite, ChatdPeerRole role,
                                                       const guint8 *session_id,
                                                       ChatdPeerRatchet *receive, GError **error);
