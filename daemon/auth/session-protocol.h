/* session-protocol.h: what a user node and the server say inside their
 * protected session (doc/protocol.md, "Session"). */
#pragma once
#include <glib.h>
#include "chatd-wire.h"

/* The suite whose key exchange and AEAD protect channels (DESIGN section 4). */
#define CHATD_CHANNEL_SUITE "25519"

/* REQUEST: request id, kind, argument; RESPONSE: request id, status (0 ok,
 * 1 error), body, signature (for signed bodies) */
enum { SR_ID, SR_KIND, SR_ARGUMENT };
enum { SP_ID, SP_STATUS, SP_BODY, SP_SIGNATURE };

#define CHATD_REQUEST_PRESENCE   "presence"    /* argument: HOST:PORT where peers reach the node */
#define CHATD_REQUEST_LIST       "list"        /* argument: 32-byte nonce; body: signed manifest */
#define CHATD_REQUEST_USERS      "users"       /* body: the key records of every registered user */
#define CHATD_REQUEST_KEY_RECORD "key-record"  /* argument: a name; body: its key record */
/* argument: fields (varint length, bytes) new wrapped key, signature by the
 * user's key (purpose "passwd", over the folded name and SHA-256 of the blob) */
#define CHATD_REQUEST_PASSWD     "passwd"
/* argument: an ENVELOPE for a user who is offline or unreachable; answered
 * ok once the server has committed it to its queue (doc/protocol.md,
 * "Offline queue") */
#define CHATD_REQUEST_QUEUE      "queue"

#define CHATD_PURPOSE_MANIFEST_LIST "manifest-list"

/* the user node's heartbeat interval */
#define CHATD_HEARTBEAT_INTERVAL_S 10

/* A list of byte strings: varint length, bytes; repeated. */
static inline void
chatd_session_append_field (GByteArray *out, const void *data, gsize len)
{
  guint8 prefix[8];
  ChatdWriter w;
  chatd_writer_init (&w, prefix, sizeof prefix);
  chatd_writer_varint (&w, len);
  g_byte_array_append (out, prefix, sizeof prefix - chatd_writer_remaining (&w));
  g_byte_array_append (out, data, len);
}

static inline gboolean
chatd_session_next_field (ChatdReader *r, const guint8 **ret_data, gsize *ret_len)
{
  guint64 len = 0;
  if (!chatd_reader_varint (r, &len) || len > chatd_reader_remaining (r) ||
      !chatd_reader_bytes (r, len, ret_data))
    return FALSE;
  *ret_len = len;
  return TRUE;
}

/* The text of a RESPONSE with an error status, for people and for the
 * control socket (whose strings must be UTF-8): at most 200 bytes of the
 * body; bytes that are not UTF-8 (a NUL, a character cut at the limit)
 * become U+FFFD. */
#define CHATD_SESSION_REFUSAL_TEXT_MAX 200

static inline char *
chatd_session_refusal_text (const void *body, gsize len)
{
  return g_utf8_make_valid (body, MIN (len, CHATD_SESSION_REFUSAL_TEXT_MAX));
}
