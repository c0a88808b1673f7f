/* login-client.c: a user node's side of the login (doc/protocol.md, "Login"). */
#define G_LOG_DOMAIN "chatd-auth"
#include "login-client.h"
#include "login.h"
#include "proof-of-work.h"

#include <gcrypt.h>
#include <string.h>

#define DEFAULT_POW_TRIES (G_GUINT64_CONSTANT (1) << 26)

typedef enum { WAIT_CHALLENGE, WAIT_REPLY, WAIT_WELCOME, FINISHED } State;

struct _ChatdLoginClient {
  ChatdLoginClientConfig config;
  State          state;
  guint8         nonce[CHATD_LOGIN_NONCE_LEN];
  ChatdSecret   *share_secret;
  guint8         share[64];
  gsize          share_len;
  GBytes        *server_key_blob;
  ChatdKey      *server_key;
  guint8         server_fingerprint[CHATD_FINGERPRINT_LEN];
  GBytes        *challenge;         /* CHALLENGE as received: c1 lives in it */
  ChatdAuthMessage *challenge_msg;
  char          *registered_name;
  ChatdKey      *user_key;
  ChatdChannel  *channel;
  guint8         transcript_hash[32];
  ChatdManifest *manifest;
  ChatdKdfParams kdf_params;        /* the wrapped key's, for passwd */
};

ChatdLoginClient *
chatd_login_client_new (const ChatdLoginClientConfig *config, GError **error)
{
  const ChatdSuite *suite = config->channel_suite;
  if (!chatd_suite_has (suite, CHATD_SUITE_CAN_KEY_EXCHANGE | CHATD_SUITE_CAN_AEAD) ||
      suite->kx_public_len > sizeof ((ChatdLoginClient *) NULL)->share)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "no channel suite for the login");
      return NULL;
    }
  g_autoptr(ChatdLoginClient) client = g_new0 (ChatdLoginClient, 1);
  client->config = *config;
  if (config->pinned_server_key != NULL)
    client->config.pinned_server_key = g_bytes_ref (config->pinned_server_key);
  client->config.user = NULL;
  /* the server folds names to lower case; so does the key's wrapping */
  client->registered_name = g_ascii_strdown (config->user, -1);
  gcry_create_nonce (client->nonce, sizeof client->nonce);
  client->share_secret = chatd_secret_new (suite->kx_secret_len);
  gcry_randomize (client->share_secret->data, client->share_secret->len, GCRY_STRONG_RANDOM);
  client->share_len = suite->kx_public_len;
  if (!suite->kx_public (client->share_secret->data, client->share, error))
    return NULL;
  return g_steal_pointer (&client);
}

void
chatd_login_client_free (ChatdLoginClient *client)
{
  if (client == NULL)
    return;
  chatd_secret_free (client->share_secret);
  g_clear_pointer (&client->config.pinned_server_key, g_bytes_unref);
  g_clear_pointer (&client->server_key_blob, g_bytes_unref);
  g_clear_pointer (&client->server_key, chatd_key_free);
  chatd_auth_message_free (client->challenge_msg);
  g_clear_pointer (&client->challenge, g_bytes_unref);
  g_free (client->registered_name);
  g_clear_pointer (&client->user_key, chatd_key_free);
  chatd_channel_free (client->channel);
  chatd_manifest_free (client->manifest);
  chatd_wipe (client->transcript_hash, sizeof client->transcript_hash);
  g_free (client);
}

GBytes *
chatd_login_client_hello (ChatdLoginClient *client)
{
  ChatdSlice fields[] = { CHATD_SLICE (client->nonce, sizeof client->nonce),
                          CHATD_SLICE (client->share, client->share_len),
                          CHATD_SLICE_STR (client->config.channel_suite->name) };
  client->state = WAIT_CHALLENGE;
  return chatd_auth_message_build (CHATD_MSG_HELLO, fields, G_N_ELEMENTS (fields));
}

static ChatdLoginClientOutcome
fail (GBytes **ret_message, const char *tell_server, GError **error, gint code,
      const char *format, ...) G_GNUC_PRINTF (5, 6);

static ChatdLoginClientOutcome
fail (GBytes **ret_message, const char *tell_server, GError **error, gint code,
      const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  if (error != NULL && *error == NULL)
    g_set_error_literal (error, CHATD_ERROR, code, reason);
  if (tell_server != NULL)
    {
      ChatdSlice field = CHATD_SLICE_STR (tell_server);
      *ret_message = chatd_auth_message_build (CHATD_MSG_FAILED, &field, 1);
    }
  return CHATD_LOGIN_CLIENT_FAILED;
}

static ChatdLoginClientOutcome
handle_challenge (ChatdLoginClient *client, const ChatdAuthMessage *ch, GBytes **ret_message,
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
  client->server_key = key_suite->import_public (key_suite, f[CH_KEY].data, f[CH_KEY].len, error);
  if (client->server_key == NULL || !chatd_key_fingerprint (client->server_key, client->server_fingerprint, error))
    return fail (ret_message, "bad server key", error, CHATD_ERROR_REFUSED, "bad server key");
  if (!chatd_login_check_pinned_key (client->config.pinned_server_key, client->server_key_blob, "log in", error))
    return fail (ret_message, "server key not trusted", error, CHATD_ERROR_REFUSED, "server key not trusted");
  if (f[CH_SHARE].len != client->config.channel_suite->kx_public_len)
    return fail (ret_message, "bad share", error, CHATD_ERROR_REFUSED, "the server's share has the wrong size");
  guint bits = ((const guint8 *) f[CH_BITS].data)[0];
  if (bits > CHATD_POW_BITS_MAX)
    return fail (ret_message, "difficulty too high", error, CHATD_ERROR_NOT_SUPPORTED,
                 "the server asks for %u bits of proof of work (at most %d)", bits, CHATD_POW_BITS_MAX);

  /* the name, sealed to the server key for this attempt only */
  g_autoptr(GByteArray) aad = g_byte_array_new ();
  ChatdSlice share = CHATD_SLICE (client->share, client->share_len);
  chatd_login_name_aad (&f[CH_N1], &share, aad);
  g_autoptr(GBytes) sealed = key_suite->seal (client->server_key, aad->data, aad->len,
                                              (const guint8 *) client->registered_name,
                                              strlen (client->registered_name), error);
  if (sealed == NULL)
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "cannot seal the name");
  gsize sealed_len;
  const guint8 *sealed_data = g_bytes_get_data (sealed, &sealed_len);
  guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
  memcpy (pow_challenge, f[CH_N1].data, CHATD_LOGIN_N_LEN);
  memcpy (pow_challenge + CHATD_LOGIN_N_LEN, f[CH_MAC].data, 32);
  guint64 start = 0, x = 0;
  gcry_create_nonce (&start, sizeof start);
  start >>= 8;   /* room to count up */
  guint64 tries = client->config.pow_max_tries ? client->config.pow_max_tries : DEFAULT_POW_TRIES;
  if (!chatd_pow_solve (pow_challenge, sizeof pow_challenge, sealed_data, sealed_len, bits, start, tries, &x))
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED,
                 "no proof of work found for %u bits within %" G_GUINT64_FORMAT " tries", bits, tries);
  guint8 x_be[8];
  chatd_u64_to_be (x, x_be);
  ChatdSlice fields[] = { f[CH_N1], f[CH_BITS], f[CH_TS], f[CH_ADDRESS], f[CH_MAC],
                          CHATD_SLICE (client->nonce, sizeof client->nonce), share,
                          CHATD_SLICE (sealed_data, sealed_len), CHATD_SLICE (x_be, 8) };
  *ret_message = chatd_auth_message_build (CHATD_MSG_ANSWER, fields, G_N_ELEMENTS (fields));
  client->challenge = g_bytes_ref (ch->bytes);
  client->challenge_msg = chatd_auth_message_parse (client->challenge, NULL);
  client->state = WAIT_REPLY;
  return CHATD_LOGIN_CLIENT_SEND;
}

static ChatdLoginClientOutcome
handle_reply (ChatdLoginClient *client, const ChatdAuthMessage *reply, GBytes **ret_message,
              GError **error)
{
  ChatdLoginTranscript transcript;
  ChatdSlice nonce = CHATD_SLICE (client->nonce, sizeof client->nonce);
  ChatdSlice share = CHATD_SLICE (client->share, client->share_len);
  const ChatdSlice *server_share = &client->challenge_msg->fields[CH_SHARE];
  chatd_login_transcript_init (&transcript, client->server_fingerprint, client->challenge_msg,
                               &nonce, &share, server_share, reply);
  g_autoptr(GError) local = NULL;
  if (!chatd_domain_verify (client->server_key, CHATD_PURPOSE_REPLY, transcript.fields,
                            CHATD_LOGIN_TRANSCRIPT_N, reply->fields[RE_SIGNATURE].data,
                            reply->fields[RE_SIGNATURE].len, &local))
    return fail (ret_message, "bad server signature", error, CHATD_ERROR_REFUSED,
                 "the server's reply is not signed by its key (%s): not the real server?", local->message);
  g_autofree char *name = chatd_auth_field_string (reply, RE_NAME);
  g_autofree char *suite_name = chatd_auth_field_string (reply, RE_SUITE);
  const ChatdSuite *suite = suite_name ? client->config.suite_lookup (client->config.user_data, suite_name) : NULL;
  if (name == NULL || g_strcmp0 (name, client->registered_name) != 0)
    return fail (ret_message, "wrong name", error, CHATD_ERROR_REFUSED, "the server answered for another name");
  if (suite == NULL || !chatd_suite_has (suite, CHATD_SUITE_CAN_SIGN))
    return fail (ret_message, "unknown suite", error, CHATD_ERROR_NOT_SUPPORTED,
                 "the user key's suite '%s' is not available here", suite_name ? suite_name : "?");
  /* Argon2id with the blob's own parameters, refused above our cap; the same
   * "login failed" for a wrong password and an unknown user */
  ChatdKdfParams params;
  if (!chatd_password_wrapped_params (reply->fields[RE_WRAPPED].data, reply->fields[RE_WRAPPED].len,
                                      &params, &local))
    return fail (ret_message, "key parameters refused", error, CHATD_ERROR_NOT_SUPPORTED,
                 "the server's key blob asks for more than this node accepts: %s", local->message);
  if (!chatd_password_unwrap_key (name, suite, client->config.password, client->config.password_len,
                                  reply->fields[RE_WRAPPED].data, reply->fields[RE_WRAPPED].len,
                                  &client->user_key, &local))
    return fail (ret_message, "login failed", error, CHATD_ERROR_REFUSED,
                 "login failed (wrong password or unknown user)");
  g_free (client->registered_name);
  client->registered_name = g_steal_pointer (&name);
  client->kdf_params = params;

  g_autoptr(GBytes) signature = NULL;
  if (!chatd_domain_sign (client->user_key, CHATD_PURPOSE_PROOF, transcript.fields,
                          CHATD_LOGIN_TRANSCRIPT_N, &signature, error) ||
      !chatd_login_transcript_hash (&transcript, client->transcript_hash, error))
    return fail (ret_message, NULL, error, CHATD_ERROR_FAILED, "cannot sign the transcript");

  const ChatdSuite *channel = client->config.channel_suite;
  g_autoptr(ChatdSecret) shared = chatd_secret_new (channel->kx_shared_len);
  if (!channel->kx_shared (client->share_secret->data, server_share->data, server_share->len,
                           shared->data, error))
    return fail (ret_message, "bad share", error, CHATD_ERROR_REFUSED, "the server's share is not usable");
  client->channel = chatd_channel_new (channel, shared->data, shared->len, client->transcript_hash,
                                       TRUE, error);
  if (client->channel == NULL)
    return CHATD_LOGIN_CLIENT_FAILED;
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);
  ChatdSlice proof = CHATD_SLICE (sig, sig_len);
  *ret_message = chatd_auth_message_build (CHATD_MSG_PROOF, &proof, 1);
  client->state = WAIT_WELCOME;
  return CHATD_LOGIN_CLIENT_SEND;
}

static ChatdLoginClientOutcome
handle_welcome (ChatdLoginClient *client, const ChatdAuthMessage *welcome, GBytes **ret_message,
                GError **error)
{
  g_autoptr(GError) local = NULL;
  ChatdSlice confirm_fields[] = { CHATD_SLICE (client->transcript_hash, 32) };
  if (!chatd_domain_mac_verify (chatd_channel_confirm_key (client->channel), CHATD_CHANNEL_CONFIRM_LEN,
                                CHATD_PURPOSE_CONFIRM, confirm_fields, 1,
                                welcome->fields[WE_CONFIRM].data, welcome->fields[WE_CONFIRM].len, &local))
    return fail (ret_message, "key confirmation failed", error, CHATD_ERROR_REFUSED,
                 "the server did not confirm the session key");
  if (!chatd_domain_verify (client->server_key, CHATD_PURPOSE_MANIFEST, &welcome->fields[WE_MANIFEST], 1,
                            welcome->fields[WE_SIGNATURE].data, welcome->fields[WE_SIGNATURE].len, &local))
    return fail (ret_message, "bad manifest signature", error, CHATD_ERROR_REFUSED,
                 "the manifest is not signed by the server (tampered?)");
  ChatdManifest *manifest = chatd_manifest_decode (welcome->fields[WE_MANIFEST].data,
                                                   welcome->fields[WE_MANIFEST].len, &local);
  if (manifest == NULL || memcmp (manifest->nonce, client->nonce, sizeof client->nonce) != 0)
    {
      chatd_manifest_free (manifest);
      return fail (ret_message, "bad manifest", error, CHATD_ERROR_REFUSED,
                   "the manifest is malformed or was made for another login");
    }
  client->manifest = manifest;
  client->state = FINISHED;
  return CHATD_LOGIN_CLIENT_DONE;
}

ChatdLoginClientOutcome
chatd_login_client_handle (ChatdLoginClient *client, const ChatdAuthMessage *message,
                           GBytes **ret_message, GError **error)
{
  *ret_message = NULL;
  if (message->type == CHATD_MSG_FAILED)
    {
      g_autofree char *reason = chatd_auth_field_string (message, 0);
      client->state = FINISHED;
      return fail (ret_message, NULL, error, CHATD_ERROR_REFUSED, "the server refused the login: %s",
                   reason ? reason : "no reason given");
    }
  if (client->state == WAIT_CHALLENGE && message->type == CHATD_MSG_CHALLENGE)
    return handle_challenge (client, message, ret_message, error);
  if (client->state == WAIT_REPLY && message->type == CHATD_MSG_REPLY)
    return handle_reply (client, message, ret_message, error);
  if (client->state == WAIT_WELCOME && message->type == CHATD_MSG_WELCOME)
    return handle_welcome (client, message, ret_message, error);
  return fail (ret_message, "unexpected message", error, CHATD_ERROR_REFUSED,
               "unexpected %s from the server", chatd_auth_message_type_name (message->type));
}

ChatdChannel *
chatd_login_client_take_channel (ChatdLoginClient *client)
{
  return g_steal_pointer (&client->channel);
}

ChatdKey *
chatd_login_client_take_user_key (ChatdLoginClient *client)
{
  return g_steal_pointer (&client->user_key);
}

ChatdManifest *
chatd_login_client_take_manifest (ChatdLoginClient *client)
{
  return g_steal_pointer (&client->manifest);
}

GBytes *
chatd_login_client_get_server_key (ChatdLoginClient *client)
{
  return client->server_key_blob;
}

const char *
chatd_login_client_get_registered_name (ChatdLoginClient *client)
{
  return client->registered_name;
}

ChatdKdfParams
chatd_login_client_get_kdf_params (ChatdLoginClient *client)
{
  return client->kdf_params;
}
