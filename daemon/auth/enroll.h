/* enroll.h: what enrolment's two sides share (doc/protocol.md, "Enrolment"):
 * field positions, signature purposes, the sealed payload and its
 * associated data.
 *
 *   c->s ENROLL_QUERY                    (clear, no fields)
 *   s->c ENROLL_PARAMS  t, m, p          the server's Argon2id minimum
 *   c->s HELLO          as for the login
 *   s->c CHALLENGE      as for the login (MAC'd, stateless, proof-of-work bits)
 *   c->s ENROLL         c1 and its MAC, client nonce and share, payload sealed
 *                       to the server key, proof of work over the sealed bytes
 *   s->c ENROLLED       registered name, signature (purpose enroll-result)
 *        or FAILED      a one-line reason
 */
#pragma once
#include "auth-message.h"
#include "chatd-crypto.h"

/* ENROLL: the same positions as ANSWER */
enum { EN_N1, EN_BITS, EN_TS, EN_ADDRESS, EN_MAC, EN_NONCE, EN_SHARE, EN_SEALED, EN_POW };
/* ENROLL_PARAMS */
enum { EP_TIME_COST, EP_MEMORY_KIB, EP_PARALLELISM };
/* ENROLLED */
enum { ED_NAME, ED_SIGNATURE };

#define CHATD_PURPOSE_ENROLL         "enroll"          /* AAD of the sealed payload */
#define CHATD_PURPOSE_ENROLL_RESULT  "enroll-result"   /* the server's ENROLLED */
#define CHATD_PURPOSE_PASSWD         "passwd"          /* a user's new wrapped key */

#define CHATD_ENROLL_RESULT_FIELDS   7

/* What the sealed part of ENROLL holds. */
typedef struct {
  char   *name;
  char   *token;          /* 32 hex digits */
  char   *suite;
  GBytes *public_key;
  GBytes *wrapped_key;
} ChatdEnrollPayload;

void     chatd_enroll_payload_clear  (ChatdEnrollPayload *payload);
/* varint-length fields: name, token, suite, public key, wrapped key */
GBytes  *chatd_enroll_payload_encode (const ChatdEnrollPayload *payload);
/* Bounds-checked; anything malformed is CHATD_ERROR_INVALID_ARGUMENT. */
gboolean chatd_enroll_payload_decode (const guint8 *data, gsize len, ChatdEnrollPayload *ret_payload,
                                      GError **error);

/* "chatd/1/enroll\0" || n1 || client share */
void     chatd_enroll_aad (const ChatdSlice *n1, const ChatdSlice *client_share, GByteArray *ret_aad);

/* The fields ENROLLED's signature covers: server key fingerprint, n1, the
 * client's nonce and share, SHA-256 of the sealed payload, the registered
 * name.  digest: 32 bytes of room for the sealed payload's hash. */
void     chatd_enroll_result_fields (const guint8 *server_fingerprint, const ChatdAuthMessage *enroll,
                                     const ChatdSlice *name, guint8 digest[32],
                                     ChatdSlice ret_fields[CHATD_ENROLL_RESULT_FIELDS]);

/* The fields a passwd request's signature covers: the name folded to lower
 * case, SHA-256 of the new wrapped key. */
#define CHATD_PASSWD_FIELDS 2
void     chatd_passwd_fields (const char *folded_name, const guint8 *wrapped, gsize wrapped_len,
                              guint8 digest[32], ChatdSlice ret_fields[CHATD_PASSWD_FIELDS]);
/* A passwd request's argument: exactly two session fields (session-protocol.h),
 * the new wrapped key and its signature (slices into data). */
gboolean chatd_passwd_argument_parse (const guint8 *data, gsize len, ChatdSlice *ret_wrapped,
                                      ChatdSlice *ret_signature);

/* A one-time token as given to people: exactly 32 hex digits. */
gboolean chatd_enroll_token_is_valid (const char *token);
