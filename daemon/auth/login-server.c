/* login-server.c: the server's side of the login (doc/protocol.md, "Login"). */
#define G_LOG_DOMAIN "chatd-auth"
#include "login-server.h"
#include "login.h"
#include "node-options.h"
#include "proof-of-work.h"

#include <gcrypt.h>
#include <string.h>

#define REPLAY_SET_MAX      200000
#define PENDING_MAX         10000
#define RATE_TABLE_MAX      100000
#define PENDING_LIFETIME_US CHATD_LOGIN_CHALLENGE_LIFETIME_US
#define CLOCK_SKEW_US       (2 * G_USEC_PER_SEC)

typedef struct {
  double tokens;
  gint64 last_us;
} Bucket;

typedef struct {
  GBytes           *answer;      /* the ANSWER and REPLY as sent: the transcript points into them */
  GBytes           *reply;
  ChatdAuthMessage *answer_msg;
  ChatdAuthMessage *reply_msg;
  guint8            server_share[64];
  gsize             server_share_len;
  ChatdSecret      *server_secret_share;
  char             *name;        /* folded */
  ChatdLoginRecord *record;
  gint64            expires_us;
} Pending;

struct _ChatdLoginServer {
  ChatdLoginServerConfig config;
  GBytes     *server_public;
  guint8      fingerprint[CHATD_FINGERPRINT_LEN];
  GHashTable *replay;          /* n1 (16 bytes, as a string key of hex) -> expiry */
  GHashTable *pending;         /* conn id -> Pending* */
  GHashTable *name_buckets;    /* lower-cased name -> Bucket* */
  GHashTable *address_buckets; /* IP -> Bucket* */
  gint64      window_start_us; /* hellos in the current second */
  guint       window_hellos;
  guint       current_bits;
  guint64     n_hellos, n_answers, n_refused, n_logins, n_proofs_failed, n_rate_limited;
};

void
chatd_login_result_free (ChatdLoginResult *result)
{
  if (result == NULL)
    return;
  g_free (result->name);
  g_free (result->suite);
  g_clear_pointer (&result->public_key, g_bytes_unref);
  chatd_channel_free (result->channel);
  chatd_wipe (result->transcript_hash, sizeof result->transcript_hash);
  g_free (result);
}

static void
pending_free (Pending *p)
{
  chatd_auth_message_free (p->answer_msg);
  chatd_auth_message_free (p->reply_msg);
  g_clear_pointer (&p->answer, g_bytes_unref);
  g_clear_pointer (&p->reply, g_bytes_unref);
  chatd_secret_free (p->server_secret_share);
  chatd_login_record_free (p->record);
  g_free (p->name);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

ChatdLoginServer *
chatd_login_server_new (const ChatdLoginServerConfig *config, GError **error)
{
  if (!chatd_suite_has (config->channel_suite, CHATD_SUITE_CAN_KEY_EXCHANGE | CHATD_SUITE_CAN_AEAD) ||
      !chatd_suite_has (config->server_key->suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the login needs a channel suite with key exchange and AEAD, and a server "
                   "key that signs and opens sealed messages");
      return NULL;
    }
  g_autoptr(ChatdLoginServer) server = g_new0 (ChatdLoginServer, 1);
  server->config = *config;
  server->server_public = config->server_key->suite->export_public (config->server_key, error);
  if (server->server_public == NULL ||
      !chatd_key_fingerprint (config->server_key, server->fingerprint, error))
    return NULL;
  server->replay = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  server->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) pending_free);
  server->name_buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  server->address_buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  server->current_bits = config->pow_bits;
  if (server->config.wall_clock == NULL)
    server->config.wall_clock = g_get_real_time;
  return g_steal_pointer (&server);
}

void
chatd_login_server_free (ChatdLoginServer *server)
{
  if (server == NULL)
    return;
  g_clear_pointer (&server->server_public, g_bytes_unref);
  g_clear_pointer (&server->replay, g_hash_table_unref);
  g_clear_pointer (&server->pending, g_hash_table_unref);
  g_clear_pointer (&server->name_buckets, g_hash_table_unref);
  g_clear_pointer (&server->address_buckets, g_hash_table_unref);
  g_free (server);
}

const guint8 *
chatd_login_server_fingerprint (ChatdLoginServer *server)
{
  return server->fingerprint;
}

/* the difficulty rises by one bit for each doubling of the hello rate above
 * the threshold, and falls back when the rate does */
guint
chatd_login_server_pow_bits (ChatdLoginServer *server, gint64 now_us)
{
  if (now_us - server->window_start_us >= G_USEC_PER_SEC)
    {
      guint bits = server->config.pow_bits;
      guint threshold = MAX (server->config.hellos_per_second_before_raise, 1);
      for (guint rate = server->window_hellos; rate > threshold && bits < server->config.pow_bits_max; rate /= 2)
        bits++;
      server->current_bits = bits;
      server->window_start_us = now_us;
      server->window_hellos = 0;
    }
  return server->current_bits;
}

static gboolean
refuse (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, reason);
  return FALSE;
}

static GBytes *
failed_message (const char *reason)
{
  ChatdSlice field = CHATD_SLICE_STR (reason);
  return chatd_auth_message_build (CHATD_MSG_FAILED, &field, 1);
}

/* The server's ephemeral secret for a challenge: derived, never stored. */
static ChatdSecret *
ephemeral_secret (ChatdLoginServer *server, const guint8 *n1, GError **error)
{
  const ChatdSuite *suite = server->config.channel_suite;
  g_autoptr(ChatdSecret) secret = chatd_secret_new (suite->kx_secret_len);
  ChatdSlice info[] = { CHATD_SLICE_STR ("chatd/1/" CHATD_PURPOSE_EPHEMERAL), CHATD_SLICE (n1, CHATD_LOGIN_N_LEN) };
  guint8 prk[CHATD_SHA256_LEN];
  ChatdSlice ikm = CHATD_SLICE (server->config.server_secret, 32);
  gboolean ok = chatd_hkdf_extract (NULL, 0, &ikm, 1, prk, error) &&
                chatd_hkdf_expand (prk, info, G_N_ELEMENTS (info), secret->data, secret->len, error);
  chatd_wipe (prk, sizeof prk);
  return ok ? g_steal_pointer (&secret) : NULL;
}


static ChatdLoginServerOutcome
handle_hello (ChatdLoginServer *server, const char *peer, gint64 now_us,
              const ChatdAuthMessage *hello, GBytes **ret_reply, GError **error)
{
  const ChatdSuite *channel = server->config.channel_suite;
  server->n_hellos++;
  server->window_hellos++;
  g_autofree char *suites = chatd_auth_field_string (hello, HELLO_SUITES);
  g_auto(GStrv) offered = suites ? g_strsplit (suites, ",", 16) : NULL;
  if (offered == NULL || !g_strv_contains ((const char * const *) offered, channel->name) ||
      hello->fields[HELLO_SHARE].len != channel->kx_public_len)
    {
      *ret_reply = failed_message ("no common channel suite");
      refuse (error, "hello from %s: no common channel suite (offered '%s')", peer, suites ? suites : "");
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  guint8 n1[CHATD_LOGIN_N_LEN], ts[8], mac[32];
  guint8 bits = (guint8) chatd_login_server_pow_bits (server, now_us);
  gcry_create_nonce (n1, sizeof n1);
  chatd_u64_to_be ((guint64) (server->config.wall_clock () / 1000), ts);
  ChatdSlice n1_s = CHATD_SLICE (n1, sizeof n1), bits_s = CHATD_SLICE (&bits, 1);
  ChatdSlice ts_s = CHATD_SLICE (ts, 8), addr_s = CHATD_SLICE_STR (peer);
  if (!chatd_login_challenge_mac (server->config.server_secret, &n1_s, &bits_s, &ts_s, &addr_s, &hello->fields[HELLO_NONCE],
                      &hello->fields[HELLO_SHARE], mac, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  g_autoptr(ChatdSecret) secret = ephemeral_secret (server, n1, error);
  guint8 share[64];
  if (secret == NULL || !channel->kx_public (secret->data, share, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  gsize key_len;
  const guint8 *key = g_bytes_get_data (server->server_public, &key_len);
  const char *key_suite = server->config.server_key->suite->name;
  ChatdSlice fields[] = { n1_s, bits_s, ts_s, addr_s, CHATD_SLICE (mac, 32),
                          CHATD_SLICE (share, channel->kx_public_len),
                          CHATD_SLICE_STR (key_suite), CHATD_SLICE (key, key_len) };
  *ret_reply = chatd_auth_message_build (CHATD_MSG_CHALLENGE, fields, G_N_ELEMENTS (fields));
  return CHATD_LOGIN_SERVER_REPLY;
}

static gboolean
take_token (GHashTable *buckets, const char *key, guint per_minute, gint64 now_us)
{
  if (per_minute == 0)
    return TRUE;
  Bucket *bucket = g_hash_table_lookup (buckets, key);
  if (bucket == NULL)
    {
      if (g_hash_table_size (buckets) >= RATE_TABLE_MAX)
        g_hash_table_remove_all (buckets);   /* crude but bounded: forget everyone */
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = per_minute;
      bucket->last_us = now_us;
      g_hash_table_insert (buckets, g_strdup (key), bucket);
    }
  bucket->tokens = MIN ((double) per_minute,
                        bucket->tokens + (now_us - bucket->last_us) * per_minute / (60.0 * G_USEC_PER_SEC));
  bucket->last_us = now_us;
  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

static void
prune_replay (ChatdLoginServer *server, gint64 now_us)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, server->replay);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (*(gint64 *) value < now_us)
      g_hash_table_iter_remove (&iter);
}

static char *
host_of (const char *peer)
{
  const char *colon = strrchr (peer, ':');
  return colon != NULL ? g_strndup (peer, colon - peer) : g_strdup (peer);
}

static ChatdLoginServerOutcome
handle_answer (ChatdLoginServer *server, guint64 conn_id, const char *peer, gint64 now_us,
               const ChatdAuthMessage *answer, GBytes **ret_reply, GError **error)
{
  server->n_answers++;
  const ChatdSlice *f = answer->fields;
  /* 1. our MAC, for this address: nothing else is looked at before it holds */
  guint8 mac[32];
  ChatdSlice addr_s = CHATD_SLICE_STR (peer);
  if (!chatd_login_challenge_mac (server->config.server_secret, &f[AN_N1], &f[AN_BITS], &f[AN_TS], &addr_s, &f[AN_NONCE],
                      &f[AN_SHARE], mac, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  if (!chatd_memequal_ct (mac, f[AN_MAC].data, 32))
    {
      *ret_reply = failed_message ("challenge not valid for this address");
      refuse (error, "answer from %s: challenge MAC does not match (forged, altered, or issued "
              "to another address)", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  /* 2. fresh */
  guint64 ts_ms = 0;
  chatd_auth_field_u64 (answer, AN_TS, &ts_ms);
  gint64 age_us = server->config.wall_clock () - (gint64) ts_ms * 1000;
  if (age_us > CHATD_LOGIN_CHALLENGE_LIFETIME_US || age_us < -CLOCK_SKEW_US)
    {
      *ret_reply = failed_message ("challenge expired");
      refuse (error, "answer from %s: challenge expired (%" G_GINT64_FORMAT " s old)", peer,
              age_us / G_USEC_PER_SEC);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  /* 3. the proof of work */
  guint64 x = 0;
  chatd_auth_field_u64 (answer, AN_POW, &x);
  guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
  memcpy (pow_challenge, f[AN_N1].data, CHATD_LOGIN_N_LEN);
  memcpy (pow_challenge + CHATD_LOGIN_N_LEN, f[AN_MAC].data, 32);
  guint bits = ((const guint8 *) f[AN_BITS].data)[0];
  if (!chatd_pow_check (pow_challenge, sizeof pow_challenge, f[AN_SEALED].data, f[AN_SEALED].len, bits, x))
    {
      *ret_reply = failed_message ("proof of work not valid");
      refuse (error, "answer from %s: the proof of work does not hold", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  /* 4. once */
  g_autofree char *n1_hex = g_malloc (2 * CHATD_LOGIN_N_LEN + 1);
  for (guint i = 0; i < CHATD_LOGIN_N_LEN; i++)
    g_snprintf (n1_hex + 2 * i, 3, "%02x", ((const guint8 *) f[AN_N1].data)[i]);
  if (g_hash_table_contains (server->replay, n1_hex))
    {
      *ret_reply = failed_message ("challenge already used");
      refuse (error, "answer from %s: replayed challenge", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  if (g_hash_table_size (server->replay) >= REPLAY_SET_MAX)
    prune_replay (server, now_us);
  if (g_hash_table_size (server->replay) >= REPLAY_SET_MAX ||
      g_hash_table_size (server->pending) >= PENDING_MAX)
    {
      *ret_reply = failed_message ("server busy, retry later");
      refuse (error, "answer from %s: too many logins in progress", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  gint64 *expiry = g_new (gint64, 1);
  *expiry = now_us + CHATD_LOGIN_CHALLENGE_LIFETIME_US + CLOCK_SKEW_US;
  g_hash_table_insert (server->replay, g_steal_pointer (&n1_hex), expiry);

  /* 5. only now: the private-key operation */
  g_autoptr(GByteArray) aad = g_byte_array_new ();
  chatd_login_name_aad (&f[AN_N1], &f[AN_SHARE], aad);
  const ChatdKey *key = server->config.server_key;
  g_autoptr(GBytes) name_bytes = key->suite->open (key, aad->data, aad->len, f[AN_SEALED].data,
                                                   f[AN_SEALED].len, error);
  if (name_bytes == NULL)
    {
      *ret_reply = failed_message ("login failed");
      g_prefix_error (error, "answer from %s: sealed name does not open: ", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  gsize name_len;
  const char *name_data = g_bytes_get_data (name_bytes, &name_len);
  g_autofree char *name = g_strndup (name_data, name_len);
  if (strlen (name) != name_len || !chatd_user_name_is_valid (name, NULL))
    {
      *ret_reply = failed_message ("login failed");
      refuse (error, "answer from %s: not a user name", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  /* 6. rate limits on blob releases: per name (fake names too) and per
   * address; a limit slows, it never locks anyone out for long */
  g_autofree char *lower = g_ascii_strdown (name, -1);
  g_autofree char *host = host_of (peer);
  if (!take_token (server->address_buckets, host, server->config.attempts_per_minute_per_address, now_us) ||
      !take_token (server->name_buckets, lower, server->config.attempts_per_minute_per_name, now_us))
    {
      server->n_rate_limited++;
      *ret_reply = failed_message ("too many login attempts: retry in a minute");
      refuse (error, "answer from %s for '%s': rate limited", peer, name);
      return CHATD_LOGIN_SERVER_REFUSED;
    }

  g_autoptr(Pending) pending = g_new0 (Pending, 1);
  pending->name = g_steal_pointer (&lower);
  if (!server->config.lookup (server->config.user_data, pending->name, &pending->record, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  pending->server_secret_share = ephemeral_secret (server, f[AN_N1].data, error);
  if (pending->server_secret_share == NULL ||
      !server->config.channel_suite->kx_public (pending->server_secret_share->data,
                                                pending->server_share, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  pending->server_share_len = server->config.channel_suite->kx_public_len;

  /* the reply: signed over the transcript up to c2 */
  guint8 n2[CHATD_LOGIN_N_LEN], ts2[8];
  gcry_create_nonce (n2, sizeof n2);
  chatd_u64_to_be ((guint64) (server->config.wall_clock () / 1000), ts2);
  gsize wrapped_len;
  const guint8 *wrapped = g_bytes_get_data (pending->record->wrapped_key, &wrapped_len);
  ChatdSlice unsigned_reply[] = { CHATD_SLICE_STR (pending->name), CHATD_SLICE_STR (pending->record->suite),
                                  CHATD_SLICE (wrapped, wrapped_len), CHATD_SLICE (n2, sizeof n2),
                                  CHATD_SLICE (ts2, 8), CHATD_SLICE ("-", 1) };
  /* build once without the signature to compute the transcript, then sign */
  pending->answer = chatd_auth_message_build (CHATD_MSG_ANSWER, answer->fields, answer->n_fields);
  pending->answer_msg = chatd_auth_message_parse (pending->answer, error);
  g_autoptr(GBytes) draft = chatd_auth_message_build (CHATD_MSG_REPLY, unsigned_reply, G_N_ELEMENTS (unsigned_reply));
  g_autoptr(ChatdAuthMessage) draft_msg = chatd_auth_message_parse (draft, error);
  if (pending->answer_msg == NULL || draft_msg == NULL)
    return CHATD_LOGIN_SERVER_REFUSED;
  ChatdLoginTranscript transcript;
  ChatdSlice server_share = CHATD_SLICE (pending->server_share, pending->server_share_len);
  chatd_login_transcript_init (&transcript, server->fingerprint, pending->answer_msg,
                               &pending->answer_msg->fields[AN_NONCE], &pending->answer_msg->fields[AN_SHARE],
                               &server_share, draft_msg);
  g_autoptr(GBytes) signature = NULL;
  if (!chatd_domain_sign (key, CHATD_PURPOSE_REPLY, transcript.fields, CHATD_LOGIN_TRANSCRIPT_N,
                          &signature, error))
    return CHATD_LOGIN_SERVER_REFUSED;
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);
  unsigned_reply[RE_SIGNATURE] = CHATD_SLICE (sig, sig_len);
  pending->reply = chatd_auth_message_build (CHATD_MSG_REPLY, unsigned_reply, G_N_ELEMENTS (unsigned_reply));
  pending->reply_msg = chatd_auth_message_parse (pending->reply, error);
  if (pending->reply_msg == NULL)
    return CHATD_LOGIN_SERVER_REFUSED;
  pending->expires_us = now_us + PENDING_LIFETIME_US;
  *ret_reply = g_bytes_ref (pending->reply);
  g_hash_table_replace (server->pending, g_memdup2 (&conn_id, sizeof conn_id), g_steal_pointer (&pending));
  return CHATD_LOGIN_SERVER_REPLY;
}

static ChatdLoginServerOutcome
handle_proof (ChatdLoginServer *server, guint64 conn_id, const char *peer, gint64 now_us,
              const ChatdAuthMessage *proof, GBytes **ret_reply, ChatdLoginResult **ret_result,
              GError **error)
{
  Pending *pending = g_hash_table_lookup (server->pending, &conn_id);
  if (pending == NULL || pending->expires_us < now_us)
    {
      g_hash_table_remove (server->pending, &conn_id);
      *ret_reply = failed_message ("login failed");
      refuse (error, "proof from %s: no login in progress on this connection (expired?)", peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  const ChatdSuite *user_suite = server->config.suite_lookup (server->config.user_data, pending->record->suite);
  gsize key_len;
  const guint8 *key_blob = g_bytes_get_data (pending->record->public_key, &key_len);
  g_autoptr(ChatdKey) user_key = user_suite != NULL
    ? user_suite->import_public (user_suite, key_blob, key_len, error) : NULL;
  ChatdLoginTranscript transcript;
  ChatdSlice server_share = CHATD_SLICE (pending->server_share, pending->server_share_len);
  chatd_login_transcript_init (&transcript, server->fingerprint, pending->answer_msg,
                               &pending->answer_msg->fields[AN_NONCE], &pending->answer_msg->fields[AN_SHARE],
                               &server_share, pending->reply_msg);
  g_autoptr(GError) verify_error = NULL;
  if (user_key == NULL ||
      !chatd_domain_verify (user_key, CHATD_PURPOSE_PROOF, transcript.fields, CHATD_LOGIN_TRANSCRIPT_N,
                            proof->fields[0].data, proof->fields[0].len, &verify_error))
    {
      server->n_proofs_failed++;
      g_autofree char *name = g_strdup (pending->name);
      g_hash_table_remove (server->pending, &conn_id);
      *ret_reply = failed_message ("login failed");
      refuse (error, "login of '%s' from %s refused: the transcript signature does not verify", name, peer);
      return CHATD_LOGIN_SERVER_REFUSED;
    }

  /* session keys from the shares and the transcript */
  const ChatdSuite *channel = server->config.channel_suite;
  g_autoptr(ChatdSecret) shared = chatd_secret_new (channel->kx_shared_len);
  g_autoptr(ChatdLoginResult) result = g_new0 (ChatdLoginResult, 1);
  if (!channel->kx_shared (pending->server_secret_share->data,
                           pending->answer_msg->fields[AN_SHARE].data,
                           pending->answer_msg->fields[AN_SHARE].len, shared->data, error) ||
      !chatd_login_transcript_hash (&transcript, result->transcript_hash, error))
    {
      g_hash_table_remove (server->pending, &conn_id);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  result->channel = chatd_channel_new (channel, shared->data, shared->len, result->transcript_hash,
                                       FALSE, error);
  if (result->channel == NULL)
    {
      g_hash_table_remove (server->pending, &conn_id);
      return CHATD_LOGIN_SERVER_REFUSED;
    }
  result->name = g_strdup (pending->name);
  result->suite = g_strdup (pending->record->suite);
  result->public_key = g_bytes_ref (pending->record->public_key);
  memcpy (result->client_nonce, pending->answer_msg->fields[AN_NONCE].data, 32);
  g_hash_table_remove (server->pending, &conn_id);
  server->n_logins++;
  *ret_result = g_steal_pointer (&result);
  return CHATD_LOGIN_SERVER_DONE;
}

ChatdLoginServerOutcome
chatd_login_server_handle (ChatdLoginServer *server, guint64 conn_id, const char *peer,
                           gint64 now_us, const ChatdAuthMessage *message, GBytes **ret_reply,
                           ChatdLoginResult **ret_result, GError **error)
{
  *ret_reply = NULL;
  ChatdLoginServerOutcome outcome;
  switch (message->type)
    {
    case CHATD_MSG_HELLO:
      outcome = handle_hello (server, peer, now_us, message, ret_reply, error);
      break;
    case CHATD_MSG_ANSWER:
      outcome = handle_answer (server, conn_id, peer, now_us, message, ret_reply, error);
      break;
    case CHATD_MSG_PROOF:
      outcome = handle_proof (server, conn_id, peer, now_us, message, ret_reply, ret_result, error);
      break;
    case CHATD_MSG_FAILED:
      {
        Pending *pending = g_hash_table_lookup (server->pending, &conn_id);
        g_autofree char *reason = chatd_auth_field_string (message, 0);
        refuse (error, "login%s%s from %s given up by the client: %s",
                pending ? " of " : "", pending ? pending->name : "", peer,
                reason ? reason : "(no reason)");
        g_hash_table_remove (server->pending, &conn_id);
        outcome = CHATD_LOGIN_SERVER_REFUSED;
      }
      break;
    default:
      *ret_reply = failed_message ("unexpected message");
      refuse (error, "%s from %s: not a login message", chatd_auth_message_type_name (message->type), peer);
      outcome = CHATD_LOGIN_SERVER_REFUSED;
      break;
    }
  if (outcome == CHATD_LOGIN_SERVER_REFUSED)
    server->n_refused++;
  return outcome;
}

char *
chatd_login_server_forget (ChatdLoginServer *server, guint64 conn_id)
{
  Pending *pending = g_hash_table_lookup (server->pending, &conn_id);
  char *name = pending != NULL ? g_strdup (pending->name) : NULL;
  g_hash_table_remove (server->pending, &conn_id);
  return name;
}

GBytes *
chatd_login_server_welcome (ChatdLoginServer *server, const ChatdLoginResult *result,
                            GBytes *manifest, GError **error)
{
  gsize manifest_len;
  const guint8 *manifest_data = g_bytes_get_data (manifest, &manifest_len);
  ChatdSlice signed_fields[] = { CHATD_SLICE (manifest_data, manifest_len) };
  g_autoptr(GBytes) signature = NULL;
  guint8 confirm[CHATD_DOMAIN_MAC_LEN];
  ChatdSlice confirm_fields[] = { CHATD_SLICE (result->transcript_hash, 32) };
  if (!chatd_domain_sign (server->config.server_key, CHATD_PURPOSE_MANIFEST, signed_fields, 1,
                          &signature, error) ||
      !chatd_domain_mac (chatd_channel_confirm_key (result->channel), CHATD_CHANNEL_CONFIRM_LEN,
                         CHATD_PURPOSE_CONFIRM, confirm_fields, 1, confirm, error))
    return NULL;
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);
  ChatdSlice fields[] = { CHATD_SLICE (manifest_data, manifest_len), CHATD_SLICE (sig, sig_len),
                          CHATD_SLICE (confirm, sizeof confirm) };
  return chatd_auth_message_build (CHATD_MSG_WELCOME, fields, G_N_ELEMENTS (fields));
}

void
chatd_login_server_foreach_counter (ChatdLoginServer *server,
                                    void (*func) (const char *, guint64, gpointer), gpointer user_data)
{
  func ("login.hellos", server->n_hellos, user_data);
  func ("login.answers", server->n_answers, user_data);
  func ("login.refused", server->n_refused, user_data);
  func ("login.proofs-failed", server->n_proofs_failed, user_data);
  func ("login.rate-limited", server->n_rate_limited, user_data);
  func ("login.succeeded", server->n_logins, user_data);
  func ("login.pending", g_hash_table_size (server->pending), user_data);
}
