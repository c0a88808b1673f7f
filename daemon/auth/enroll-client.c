/* enroll-client.c: a new user's node enrolling (doc/protocol.md, "Enrolment"). */
#define G_LOG_DOMAIN "chatd-auth"
#include "enroll-client.h"
#include "enroll.h"
#include "login.h"
#include "node-options.h"
#include "proof-of-work.h"

#include <gcrypt.h>
#include <string.h>

#define DEFAULT_POW_TRIES (G_GUINT64_CONSTANT (1) << 26)

typedef enum { WAIT_PARAMS, WAIT_CHALLENGE, WAIT_ENROLLED, FINISHED } State;

struct _ChatdEnrollClient {
  ChatdEnrollClientConfig config;
  State        state;
  char        *folded;           /* the name, lower case: the key is wrapped for it */
  char        *token;
  guint8       nonce[CHATD_LOGIN_NONCE_LEN];
  ChatdSecret *share_secret;
  guint8       share[64];
  gsize        share_len;
  GBytes      *public_key;
  GBytes      *wrapped_key;
  GBytes      *server_key_blob;
  ChatdKey    *server_key;
  guint8       server_fingerprint[CHATD_FINGERPRINT_LEN];
  GBytes      *enroll;           /* ENROLL as sent: ENROLLED signs over it */
  char        *registered_name;
};

ChatdEnrollClient *
chatd_enroll_client_new (const ChatdEnrollClientConfig *config, GError **error)
{
  const ChatdSuite *channel = config->channel_suite;
  if (!chatd_suite_has (channel, CHATD_SUITE_CAN_KEY_EXCHANGE) || channel->kx_public_len > 64 ||
      !chatd_suite_has (config->key_suite, CHATD_SUITE_CAN_SIGN))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "no suite for enrolment");
      return NULL;
    }
  if (!chatd_user_name_is_valid (config->user, error))
    return NULL;
  if (!chatd_enroll_token_is_valid (config->token))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "the enrolment token must be the 32 hex digits `useradd` printed");
      return NULL;
    }
  g_autoptr(ChatdEnrollClient) client = g_new0 (ChatdEnrollClient, 1);
  client->config = *config;
  client->config.user = NULL;
  client->config.token = NULL;
  if (config->pinned_server_key != NULL)
    client->config.pinned_server_key = g_bytes_ref (config->pinned_server_key);
  client->folded = g_ascii_strdown (config->user, -1);
  client->token = g_ascii_strdown (config->token, -1);
  gcry_create_nonce (client->nonce, sizeof client->nonce);
  client->share_secret = chatd_secret_new (channel->kx_secret_len);
  gcry_randomize (client->share_secret->data, client->share_secret->len, GCRY_STRONG_RANDOM);
  client->share_len = channel->kx_public_len;
  if (!channel->kx_public (client->share_secret->data, client->share, error))
    return NULL;
  return g_steal_pointer (&client);
}

void
chatd_enroll_client_free (ChatdEnrollClient *client)
{
  if (client == NULL)
    return;
  g_free (client->folded);
  if (client->token != NULL)
    chatd_wipe (client->token, strlen (client->token));
  g_free (client->token);
  chatd_secret_free (client->share_secret);
  g_clear_pointer (&client->config.pinned_server_key, g_bytes_unref);
  g_clear_pointer (&client->public_key, g_bytes_unref);
  g_clear_pointer (&client->wrapped_key, g_bytes_unref);
  g_clear_pointer (&client->server_key_blob, g_bytes_unref);
  g_clear_pointer (&client->server_key, chatd_key_free);
  g_clear_pointer (&client->enroll, g_bytes_unref);
  g_free (client->registered_name);
  g_free (client);
}

GBytes *
chatd_enroll_client_start (ChatdEnrollClient *client)
{
  client->state = WAIT_PARAMS;
  return chatd_auth_message_build (CHATD_MSG_ENROLL_QUERY, NULL, 0);
}

static ChatdEnrollClientOutcome
fail (GBytes **ret_message, const char *tell_server, GError **error, gint code,
      const char *format, ...) G_GNUC_PRINTF (5, 6);

static ChatdEnrollClientOutcome
fail (GBytes **ret_message, const char *tell_server, GError **error, gint code,
      const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  if (error != NULL && *error == NULL)
    g_set_error_literal (error, CHATD_ERROR, code, reason);
  else if (error != NULL)
    g_prefix_error (error, "%s: ", reason);
  if (tell_server != NULL)
    {
      ChatdSlice field = CHATD_SLICE_STR (tell_server);
      *ret_message = chatd_auth_message_build (CHATD_MSG_FAILED, &field, 1);
    }
  return CHATD_ENROLL_CLIENT_FAILED;
}

/* the server's minimum, within our cap: the key pair is made and wrapped
 * here (unauthenticated parameters are safe: less than the server's own
 * minimum is refused by the server, more than our cap by us) */
static ChatdEnrollClientOutcome
handle_params (ChatdEnrollClient *client, const ChatdAuthMessage *m, GBytes **ret_message, GError **error)
{
  guint64 t = 0, mem = 0, p = 0;
  chatd_auth_field_u64 (m, EP_TIME_COST, &t);
  chatd_auth_field_u64 (m, EP_MEMORY_KIB, &mem);
  chatd_auth_field_u64 (m, EP_PARALLELISM, &p);
  ChatdKdfParams params = { (guint32) MIN (t, G_MAXUINT32), (guint32) MIN (mem, G_MAXUINT32),
                            (guint32) MIN (p, G_MAXUINT32) };
  g_autoptr(GError) local = NULL;
  if (!chatd_kdf_params_check (&params, &local))
    return fail (ret_message, NULL, error, CHATD_ERROR_NOT_SUPPORTED,
                 "the server asks for key-wrapping parameters this node does not accept: %s",
                 local->message);
  const ChatdSuite *suite = client->config.key_suite;
  g_autoptr(ChatdKey) key = suite->generate (suite, 0, error);
  if (key == NULL)
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "cannot make the user's key pair");
  client->public_key = suite->export_public (key, error);
  if (client->public_key == NULL ||
      !chatd_password_wrap_key (client->folded, key, client->config.password, client->config.password_len,
                                &params, &client->wrapped_key, error))
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "cannot wrap the new key");
  /* the private key is not needed any more: the login unwraps it again */
  ChatdSlice fields[] = { CHATD_SLICE (client->nonce, sizeof client->nonce),
                          CHATD_SLICE (client->share, client->share_len),
                          CHATD_SLICE_STR (client->config.channel_suite->name) };
  *ret_message = chatd_auth_message_build (CHATD_MSG_HELLO, fields, G_N_ELEMENTS (fields));
  client->state = WAIT_CHALLENGE;
  return CHATD_ENROLL_CLIENT_SEND;
}

static ChatdEnrollClientOutcome
handle_challenge (ChatdEnrollClient *client, const ChatdAuthMessage *ch, GBytes **ret_message,
                  GError **error)
{
  const ChatdSlice *f = ch->fields;
  g_autofree char *key_suite_name = chatd_auth_field_string (ch, CH_KEY_SUITE);
  const ChatdSuite *key_suite = key_suite_name
    ? client->config.suite_lookup (client->config.user_data, key_suite_name) : NULL;
  if (key_suite == NULL || !chatd_suite_has (key_suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    return fail (ret_message, "unknown server key suite", error, CHATD_ERROR_NOT_SUPPORTED,
                 "the server's key suite '%s' is not available here", key_suite_name ? key_suite_name : "?");
  client->server_key_blob = g_bytes_new (f[CH_KEY].data, f[CH_KEY].len);
  client->server_key = key_suite->import_public (key_suite, f[CH_KEY].data, f[CH_KEY].len, NULL);
  if (client->server_key == NULL ||
      !chatd_key_fingerprint (client->server_key, client->server_fingerprint, NULL))
    return fail (ret_message, "bad server key", error, CHATD_ERROR_REFUSED, "bad server key");
  if (!chatd_login_check_pinned_key (client->config.pinned_server_key, client->server_key_blob, "enrol", error))
    return fail (ret_message, "server key not trusted", error, CHATD_ERROR_REFUSED, "server key not trusted");
  guint bits = ((const guint8 *) f[CH_BITS].data)[0];
  if (bits > CHATD_POW_BITS_MAX)
    return fail (ret_message, "difficulty too high", error, CHATD_ERROR_NOT_SUPPORTED,
                 "the server asks for %u bits of proof of work (at most %d)", bits, CHATD_POW_BITS_MAX);

  /* the payload, sealed to the server key for this attempt only */
  ChatdEnrollPayload payload = {
    .name = client->folded, .token = client->token, .suite = (char *) client->config.key_suite->name,
    .public_key = client->public_key, .wrapped_key = client->wrapped_key,
  };
  g_autoptr(GBytes) plain = chatd_enroll_payload_encode (&payload);
  g_autoptr(GByteArray) aad = g_byte_array_new ();
  ChatdSlice share = CHATD_SLICE (client->share, client->share_len);
  chatd_enroll_aad (&f[CH_N1], &share, aad);
  gsize plain_len;
  const guint8 *plain_data = g_bytes_get_data (plain, &plain_len);
  g_autoptr(GBytes) sealed = key_suite->seal (client->server_key, aad->data, aad->len,
                                              plain_data, plain_len, error);
  chatd_wipe ((guint8 *) plain_data, plain_len);
  if (sealed == NULL)
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "cannot seal the enrolment");
  gsize sealed_len;
  const guint8 *sealed_data = g_bytes_get_data (sealed, &sealed_len);
  guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
  memcpy (pow_challenge, f[CH_N1].data, CHATD_LOGIN_N_LEN);
  memcpy (pow_challenge + CHATD_LOGIN_N_LEN, f[CH_MAC].data, 32);
  guint64 start = 0, x = 0;
  gcry_create_nonce (&start, sizeof start);
  start >>= 8;
  guint64 tries = client->config.pow_max_tries ? client->config.pow_max_tries : DEFAULT_POW_TRIES;
  if (!chatd_pow_solve (pow_challenge, sizeof pow_challenge, sealed_data, sealed_len, bits, start, tries, &x))
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED,
                 "no proof of work found for %u bits within %" G_GUINT64_FORMAT " tries", bits, tries);
  guint8 x_be[8];
  chatd_u64_to_be (x, x_be);
  ChatdSlice fields[] = { f[CH_N1], f[CH_BITS], f[CH_TS], f[CH_ADDRESS], f[CH_MAC],
                          CHATD_SLICE (client->nonce, sizeof client->nonce), share,
                          CHATD_SLICE (sealed_data, sealed_len), CHATD_SLICE (x_be, 8) };
  client->enroll = chatd_auth_message_build (CHATD_MSG_ENROLL, fields, G_N_ELEMENTS (fields));
  *ret_message = g_bytes_ref (client->enroll);
  client->state = WAIT_ENROLLED;
  return CHATD_ENROLL_CLIENT_SEND;
}

static ChatdEnrollClientOutcome
handle_enrolled (ChatdEnrollClient *client, const ChatdAuthMessage *m, GBytes **ret_message, GError **error)
{
  g_autoptr(ChatdAuthMessage) sent = chatd_auth_message_parse (client->enroll, error);
  if (sent == NULL)
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "internal error");
  guint8 digest[32];
  ChatdSlice fields[CHATD_ENROLL_RESULT_FIELDS];
  chatd_enroll_result_fields (client->server_fingerprint, sent, &m->fields[ED_NAME], digest, fields);
  g_autoptr(GError) local = NULL;
  if (!chatd_domain_verify (client->server_key, CHATD_PURPOSE_ENROLL_RESULT, fields, CHATD_ENROLL_RESULT_FIELDS,
                            m->fields[ED_SIGNATURE].data, m->fields[ED_SIGNATURE].len, &local))
    return fail (ret_message, NULL, error, CHATD_ERROR_REFUSED,
                 "the enrolment answer is not signed by the server's key: not the real server?");
  g_autofree char *name = chatd_auth_field_string (m, ED_NAME);
  g_autofree char *folded = name ? g_ascii_strdown (name, -1) : NULL;
  if (g_strcmp0 (folded, client->folded) != 0)
    return fail (ret_message, NULL, error, CHATD_ERROR_REFUSED, "the server registered another name");
  client->registered_name = g_steal_pointer (&name);
  client->state = FINISHED;
  return CHATD_ENROLL_CLIENT_DONE;
}

ChatdEnrollClientOutcome
chatd_enroll_client_handle (ChatdEnrollClient *client, const ChatdAuthMessage *message,
                            GBytes **ret_message, GError **error)
{
  *ret_message = NULL;
  if (message->type == CHATD_MSG_FAILED)
    {
      g_autofree char *reason = chatd_auth_field_string (message, 0);
      client->state = FINISHED;
      return fail (ret_message, NULL, error, CHATD_ERROR_REFUSED, "%s",
                   reason ? reason : "the server gave no reason");
    }
  if (client->state == WAIT_PARAMS && message->type == CHATD_MSG_ENROLL_PARAMS)
    return handle_params (client, message, ret_message, error);
  if (client->state == WAIT_CHALLENGE && message->type == CHATD_MSG_CHALLENGE)
    return handle_challenge (client, message, ret_message, error);
  if (client->state == WAIT_ENROLLED && message->type == CHATD_MSG_ENROLLED)
    return handle_enrolled (client, message, ret_message, error);
  return fail (ret_message, "unexpected message", error, CHATD_ERROR_REFUSED,
               "unexpected %s from the server", chatd_auth_message_type_name (message->type));
}

GBytes *
chatd_enroll_client_get_server_key (ChatdEnrollClient *client)
{
  return client->server_key_blob;
}

const char *
chatd_enroll_client_get_registered_name (ChatdEnrollClient *client)
{
  return client->registered_name;
}
