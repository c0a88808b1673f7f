/* auth-message.h: the messages between a user node and the server, and
 * between user nodes: a type and a list of length-prefixed fields, checked
 * against a schema before anything reads them (doc/protocol.md, "Login").
 *
 *   u8 version (1) | u8 type | u8 n_fields | n x (varint length | bytes)
 *
 * Integers travel as 8-byte big-endian fields, text as UTF-8 bytes.  The same
 * field list is what a signature or MAC covers (chatd_domain_sign takes the
 * fields), so what is signed is exactly what was sent. */
#pragma once
#include <gio/gio.h>
#include "slice.h"

#define CHATD_AUTH_VERSION     1
#define CHATD_AUTH_FIELDS_MAX  16

typedef enum {
  /* login, in clear (each checked before use) */
  CHATD_MSG_HELLO     = 1,
  CHATD_MSG_CHALLENGE = 2,
  CHATD_MSG_ANSWER    = 3,
  CHATD_MSG_REPLY     = 4,
  CHATD_MSG_PROOF     = 5,
  CHATD_MSG_WELCOME   = 6,
  CHATD_MSG_FAILED    = 7,
  /* enrolment, in clear (doc/protocol.md, "Enrolment") */
  CHATD_MSG_ENROLL_QUERY  = 8,
  CHATD_MSG_ENROLL_PARAMS = 9,
  CHATD_MSG_ENROLL        = 10,
  CHATD_MSG_ENROLLED      = 11,
  /* inside a login session (AEAD-protected packets) */
  CHATD_MSG_HEARTBEAT = 16,
  CHATD_MSG_REQUEST   = 17,
  CHATD_MSG_RESPONSE  = 18,
  CHATD_MSG_REPLACED  = 19,
  CHATD_MSG_LOGOUT    = 20,
  CHATD_MSG_ENDED     = 21,   /* the server ended the session (the user was deleted) */
  CHATD_MSG_EXPIRED   = 22,   /* a queued envelope expired: id, recipient (doc/protocol.md, "Offline queue") */
  /* between user nodes (end to end) */
  CHATD_MSG_ENVELOPE  = 32,
  CHATD_MSG_RECEIPT   = 33,
  /* peer sessions between user nodes (daemon/peer, doc/protocol.md
   * "Peer session (forward-secret)") */
  CHATD_MSG_PEER_INIT     = 40,
  CHATD_MSG_PEER_RESPONSE = 41,
  CHATD_MSG_PEER_FINISH   = 42,
  CHATD_MSG_PEER_MESSAGE  = 43,
  CHATD_MSG_PEER_RECEIPT  = 44,
  CHATD_MSG_PEER_RECEIPTS = 45,   /* a batch of receipts, one MAC */
} ChatdMsgType;

typedef struct {
  ChatdMsgType type;
  guint        n_fields;
  ChatdSlice   fields[CHATD_AUTH_FIELDS_MAX];   /* point into the parsed bytes */
  GBytes      *bytes;                            /* keeps them alive */
} ChatdAuthMessage;

/* Parses and checks against the type's schema (field count and lengths).
 * Returns NULL with a one-line reason for anything malformed. */
ChatdAuthMessage *chatd_auth_message_parse (GBytes *bytes, GError **error);
void              chatd_auth_message_free  (ChatdAuthMessage *message);
/* Builds a message; fails (programming error) if it breaks the schema. */
GBytes           *chatd_auth_message_build (ChatdMsgType type, const ChatdSlice *fields,
                                            guint n_fields);
const char       *chatd_auth_message_type_name (ChatdMsgType type);

/* 8-byte big-endian integers */
void     chatd_u64_to_be (guint64 value, guint8 ret_bytes[8]);
gboolean chatd_auth_field_u64 (const ChatdAuthMessage *message, guint index, guint64 *ret_value);
/* a UTF-8 field as a new string; NULL if it is not valid UTF-8 or has a NUL */
char    *chatd_auth_field_string (const ChatdAuthMessage *message, guint index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdAuthMessage, chatd_auth_message_free)
