/* enroll-server.c: the server's side of enrolment (doc/protocol.md, "Enrolment"). */
#define G_LOG_DOMAIN "chatd-auth"
#include "enroll-server.h"
#include "login.h"
#include "proof-of-work.h"

#include <string.h>

#define REPLAY_SET_MAX   100000
#define CLOCK_SKEW_US    (2 * G_USEC_PER_SEC)

struct _ChatdEnrollServer {
  ChatdEnrollServerConfig config;
  guint8      fingerprint[CHATD_FINGERPRINT_LEN];
  GHashTable *replay;     /* n1 in hex -> expiry (wall clock, us) */
  guint64     n_queries, n_enrolls, n_refused;
};

void
chatd_enroll_request_free (ChatdEnrollRequest *request)
{
  if (request == NULL)
    return;
  chatd_enroll_payload_clear (&request->payload);
  chatd_auth_message_free (request->message);
  g_free (request);
}

ChatdEnrollServer *
chatd_enroll_server_new (const ChatdEnrollServerConfig *config, GError **error)
{
  if (!chatd_suite_has (config->server_key->suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "enrolment needs a server key that signs and opens sealed messages");
      return NULL;
    }
  g_autoptr(ChatdEnrollServer) server = g_new0 (ChatdEnrollServer, 1);
  server->config = *config;
  if (!chatd_key_fingerprint (config->server_key, server->fingerprint, error))
    return NULL;
  server->replay = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return g_steal_pointer (&server);
}

void
chatd_enroll_server_free (ChatdEnrollServer *server)
{
  if (server == NULL)
    return;
  g_clear_pointer (&server->replay, g_hash_table_unref);
  g_free (server);
}

GBytes *
chatd_enroll_failed_message (const char *reason)
{
  ChatdSlice field = CHATD_SLICE (reason, MIN (strlen (reason), 512));
  return chatd_auth_message_build (CHATD_MSG_FAILED, &field, 1);
}

static ChatdEnrollServerOutcome
refuse (GBytes **ret_reply, const char *tell, GError **error, const char *format, ...) G_GNUC_PRINTF (4, 5);

static ChatdEnrollServerOutcome
refuse (GBytes **ret_reply, const char *tell, GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  *ret_reply = chatd_enroll_failed_message (tell);
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, reason);
  return CHATD_ENROLL_SERVER_REFUSED;
}

static void
prune_replay (ChatdEnrollServer *server, gint64 wall_us)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, server->replay);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (*(gint64 *) value < wall_us)
      g_hash_table_iter_remove (&iter);
}

static ChatdEnrollServerOutcome
handle_query (ChatdEnrollServer *server, GBytes **ret_reply)
{
  server->n_queries++;
  guint8 t[8], m[8], p[8];
  chatd_u64_to_be (server->config.kdf.time_cost, t);
  chatd_u64_to_be (server->config.kdf.memory_kib, m);
  chatd_u64_to_be (server->config.kdf.parallelism, p);
  ChatdSlice fields[] = { CHATD_SLICE (t, 8), CHATD_SLICE (m, 8), CHATD_SLICE (p, 8) };
  *ret_reply = chatd_auth_message_build (CHATD_MSG_ENROLL_PARAMS, fields, G_N_ELEMENTS (fields));
  return CHATD_ENROLL_SERVER_REPLY;
}

static ChatdEnrollServerOutcome
handle_enroll (ChatdEnrollServer *server, const char *peer, gint64 wall_us,
               const ChatdAuthMessage *enroll, GBytes **ret_reply, ChatdEnrollRequest **ret_request,
               GError **error)
{
  server->n_enrolls++;
  const ChatdSlice *f = enroll->fields;
  /* 1. the challenge's MAC, for this address: nothing else before it holds */
  guint8 mac[32];
  ChatdSlice addr_s = CHATD_SLICE_STR (peer);
  if (!chatd_login_challenge_mac (server->config.server_secret, &f[EN_N1], &f[EN_BITS], &f[EN_TS],
                                  &addr_s, &f[EN_NONCE], &f[EN_SHARE], mac, error))
    return CHATD_ENROLL_SERVER_REFUSED;
  if (!chatd_memequal_ct (mac, f[EN_MAC].data, 32))
    return refuse (ret_reply, "challenge not valid for this address", error,
                   "enrolment from %s: challenge MAC does not match (forged, altered, or issued "
                   "to another address)", peer);
  /* 2. fresh */
  guint64 ts_ms = 0;
  chatd_auth_field_u64 (enroll, EN_TS, &ts_ms);
  gint64 age_us = wall_us - (gint64) ts_ms * 1000;
  if (age_us > CHATD_LOGIN_CHALLENGE_LIFETIME_US || age_us < -CLOCK_SKEW_US)
    return refuse (ret_reply, "challenge expired", error,
                   "enrolment from %s: challenge expired (%" G_GINT64_FORMAT " s old)", peer,
                   age_us / G_USEC_PER_SEC);
  /* 3. the proof of work, over the sealed payload */
  guint64 x = 0;
  chatd_auth_field_u64 (enroll, EN_POW, &x);
  guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
  memcpy (pow_challenge, f[EN_N1].data, CHATD_LOGIN_N_LEN);
  memcpy (pow_challenge + CHATD_LOGIN_N_LEN, f[EN_MAC].data, 32);
  guint bits = ((const guint8 *) f[EN_BITS].data)[0];
  if (!chatd_pow_check (pow_challenge, sizeof pow_challenge, f[EN_SEALED].data, f[EN_SEALED].len, bits, x))
    return refuse (ret_reply, "proof of work not valid", error,
                   "enrolment from %s: the proof of work does not hold", peer);
  /* 4. once */
  g_autofree char *n1_hex = g_malloc (2 * CHATD_LOGIN_N_LEN + 1);
  for (guint i = 0; i < CHATD_LOGIN_N_LEN; i++)
    g_snprintf (n1_hex + 2 * i, 3, "%02x", ((const guint8 *) f[EN_N1].data)[i]);
  if (g_hash_table_contains (server->replay, n1_hex))
    return refuse (ret_reply, "challenge already used", error, "enrolment from %s: replayed challenge", peer);
  if (g_hash_table_size (server->replay) >= REPLAY_SET_MAX)
    prune_replay (server, wall_us);
  if (g_hash_table_size (server->replay) >= REPLAY_SET_MAX)
    return refuse (ret_reply, "server busy, retry later", error, "enrolment from %s: too many enrolments", peer);
  gint64 *expiry = g_new (gint64, 1);
  *expiry = (gint64) ts_ms * 1000 + CHATD_LOGIN_CHALLENGE_LIFETIME_US + CLOCK_SKEW_US;
  g_hash_table_insert (server->replay, g_steal_pointer (&n1_hex), expiry);

  /* 5. only now: the private-key operation */
  g_autoptr(GByteArray) aad = g_byte_array_new ();
  chatd_enroll_aad (&f[EN_N1], &f[EN_SHARE], aad);
  const ChatdKey *key = server->config.server_key;
  g_autoptr(GBytes) plain = key->suite->open (key, aad->data, aad->len, f[EN_SEALED].data,
                                              f[EN_SEALED].len, error);
  if (plain == NULL)
    {
      *ret_reply = chatd_enroll_failed_message ("enrolment refused: the request does not open");
      g_prefix_error (error, "enrolment from %s: the sealed payload does not open: ", peer);
      return CHATD_ENROLL_SERVER_REFUSED;
    }
  g_autoptr(ChatdEnrollRequest) request = g_new0 (ChatdEnrollRequest, 1);
  gsize plain_len;
  const guint8 *plain_data = g_bytes_get_data (plain, &plain_len);
  g_autoptr(GError) local = NULL;
  gboolean decoded = chatd_enroll_payload_decode (plain_data, plain_len, &request->payload, &local);
  chatd_wipe ((guint8 *) plain_data, plain_len);   /* the token */
  if (!decoded)
    return refuse (ret_reply, "enrolment refused: malformed request", error,
                   "enrolment from %s: %s", peer, local->message);
  request->message = chatd_auth_message_parse (enroll->bytes, error);
  if (request->message == NULL)
    return CHATD_ENROLL_SERVER_REFUSED;
  *ret_request = g_steal_pointer (&request);
  return CHATD_ENROLL_SERVER_REQUEST;
}

ChatdEnrollServerOutcome
chatd_enroll_server_handle (ChatdEnrollServer *server, const char *peer, gint64 wall_us,
                            const ChatdAuthMessage *message, GBytes **ret_reply,
                            ChatdEnrollRequest **ret_request, GError **error)
{
  *ret_reply = NULL;
  ChatdEnrollServerOutcome outcome;
  switch (message->type)
    {
    case CHATD_MSG_ENROLL_QUERY:
      outcome = handle_query (server, ret_reply);
      break;
    case CHATD_MSG_ENROLL:
      outcome = handle_enroll (server, peer, wall_us, message, ret_reply, ret_request, error);
      break;
    default:
      outcome = refuse (ret_reply, "unexpected message", error, "%s from %s: not an enrolment message",
                        chatd_auth_message_type_name (message->type), peer);
      break;
    }
  if (outcome == CHATD_ENROLL_SERVER_REFUSED)
    server->n_refused++;
  return outcome;
}

GBytes *
chatd_enroll_server_enrolled (ChatdEnrollServer *server, const ChatdEnrollRequest *request,
                              const char *registered_name, GError **error)
{
  guint8 digest[32];
  ChatdSlice name = CHATD_SLICE_STR (registered_name);
  ChatdSlice fields[CHATD_ENROLL_RESULT_FIELDS];
  chatd_enroll_result_fields (server->fingerprint, request->message, &name, digest, fields);
  g_autoptr(GBytes) signature = NULL;
  if (!chatd_domain_sign (server->config.server_key, CHATD_PURPOSE_ENROLL_RESULT, fields,
                          CHATD_ENROLL_RESULT_FIELDS, &signature, error))
    return NULL;
  ChatdSlice out[] = { name, CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature)) };
  return chatd_auth_message_build (CHATD_MSG_ENROLLED, out, G_N_ELEMENTS (out));
}

void
chatd_enroll_server_foreach_counter (ChatdEnrollServer *server,
                                     void (*func) (const char *, guint64, gpointer), gpointer user_data)
{
  func ("enroll.queries", server->n_queries, user_data);
  func ("enroll.requests", server->n_enrolls, user_data);
  func ("enroll.refused", server->n_refused, user_data);
}
