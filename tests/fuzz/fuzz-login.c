/* fuzz-login.c: every login message, at the side that receives it
 * (daemon/auth/login-server.c, login-client.c), without sockets.
 *
 * The first input byte picks the step (low 3 bits) and a flag (0x80); the
 * rest is the message M.  The server's key is suite-25519's known-answer key,
 * its secret and wall clock are fixed, the proof of work is 0 bits, so the
 * seed corpus (written by this file built with -DFUZZ_LOGIN_GEN_CORPUS:
 * gen-login-corpus DIR) stays valid from run to run:
 *
 *   0  server, fresh: M as the first message of a connection (HELLO)
 *   1  server, fresh: M as an ANSWER (the seed is a real one: the MAC, the
 *      freshness and the proof hold, so mutations reach the sealed name,
 *      the lookup and the signed REPLY)
 *   2  server, after a real ANSWER on the connection: M as the PROOF; with
 *      the flag, a real proof (signed by Alice's key) instead, then WELCOME
 *   3  client, after its HELLO: M as the CHALLENGE
 *   4  client, after a real CHALLENGE and REPLY exchange: M as the REPLY;
 *      with the flag, the harness signs M's fields as the server would, so
 *      that mutations get past the signature (the name, the suite, the key
 *      blob's parameters and the unwrapping)
 *   5  client, at the end of a real login: M as the WELCOME; with the flag,
 *      M is the manifest (if it decodes, with the nonce of this login put
 *      in), which the real server signs and confirms
 *
 * Invariants: a refusal always has an error; a message to send always
 * parses; the client is DONE only with a manifest made for its own nonce.
 */
#include "chatd-crypto.h"
#include "login.h"
#include "login-client.h"
#include "login-server.h"
#include "suite-25519.h"

#include <gcrypt.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define PEER "192.0.2.7:4000"
#define WALL_CLOCK_US G_GINT64_CONSTANT (1800000000000000)
/* Argon2id work the harness lets a fuzzed key blob ask for */
#define KDF_MEMORY_MAX_KIB 1024
#define KDF_TIME_MAX 2

static const ChatdKdfParams test_kdf = { 1, 256, 1 };
static const guint8 server_secret[32] = "fuzz-login server secret.......";

typedef struct {
  ChatdKey *server_key;
  ChatdKey *alice_key;
  GBytes   *alice_public;
  GBytes   *alice_wrapped;
  GBytes   *fake_public;
  GBytes   *fake_wrapped;
  GBytes   *hello, *challenge, *answer;   /* a real exchange, kept for step 1 */
  gint64    now_us;
} World;

static World world;
static gboolean trace;   /* FUZZ_LOGIN_TRACE set: every step's outcome on stderr */

static gint64
fixed_wall_clock (void)
{
  return WALL_CLOCK_US;
}

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  (void) user_data;
  return g_str_equal (name, chatd_suite_25519.name) ? &chatd_suite_25519 : NULL;
}

static gboolean
lookup_record (gpointer user_data, const char *name, ChatdLoginRecord **ret_record, GError **error)
{
  World *w = user_data;
  (void) error;
  ChatdLoginRecord *ret = *ret_record = g_new0 (ChatdLoginRecord, 1);
  ret->suite = g_strdup (chatd_suite_25519.name);
  gboolean alice = g_str_equal (name, "alice");
  ret->public_key = g_bytes_ref (alice ? w->alice_public : w->fake_public);
  ret->wrapped_key = g_bytes_ref (alice ? w->alice_wrapped : w->fake_wrapped);
  return TRUE;
}

static ChatdLoginServer *
new_server (void)
{
  ChatdLoginServerConfig config = {
    .channel_suite = &chatd_suite_25519, .server_key = world.server_key, .server_secret = server_secret,
    .pow_bits = 0, .pow_bits_max = 0, .hellos_per_second_before_raise = 1000000,
    .attempts_per_minute_per_name = 0, .attempts_per_minute_per_address = 0,
    .lookup = lookup_record, .suite_lookup = lookup_suite, .user_data = &world,
    .wall_clock = fixed_wall_clock,
  };
  ChatdLoginServer *server = chatd_login_server_new (&config, NULL);
  g_assert_nonnull (server);
  return server;
}

static ChatdLoginClient *
new_client (void)
{
  ChatdLoginClientConfig config = {
    .user = "Alice", .password = (const guint8 *) "Alice", .password_len = 5,
    .channel_suite = &chatd_suite_25519, .suite_lookup = lookup_suite, .pow_max_tries = 1024,
  };
  ChatdLoginClient *client = chatd_login_client_new (&config, NULL);
  g_assert_nonnull (client);
  return client;
}

static ChatdAuthMessage *
parse_ok (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ChatdAuthMessage *m = chatd_auth_message_parse (bytes, &error);
  g_assert_no_error (error);
  return m;
}

static ChatdLoginServerOutcome
server_step (ChatdLoginServer *server, const ChatdAuthMessage *m, GBytes **ret_reply,
             ChatdLoginResult **ret_result)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(ChatdLoginResult) result = NULL;
  ChatdLoginServerOutcome outcome = chatd_login_server_handle (server, 1, PEER, world.now_us, m,
                                                               &reply, &result, &error);
  world.now_us += G_USEC_PER_SEC;
  if (trace)
    g_printerr ("server: %s -> %d %s\n", chatd_auth_message_type_name (m->type), outcome,
                error ? error->message : "");
  switch (outcome)
    {
    case CHATD_LOGIN_SERVER_REPLY:
      {
        g_assert_no_error (error);
        g_assert_nonnull (reply);
        chatd_auth_message_free (parse_ok (reply));   /* it parses */
      }
      break;
    case CHATD_LOGIN_SERVER_DONE:
      g_assert_no_error (error);
      g_assert_nonnull (result);
      g_assert_nonnull (result->channel);
      break;
    case CHATD_LOGIN_SERVER_REFUSED:
      g_assert_nonnull (error);
      if (reply != NULL)
        {
          g_autoptr(ChatdAuthMessage) check = parse_ok (reply);
          g_assert_cmpint (check->type, ==, CHATD_MSG_FAILED);
        }
      break;
    default:
      g_assert_not_reached ();
    }
  if (ret_reply)
    *ret_reply = g_steal_pointer (&reply);
  if (ret_result)
    *ret_result = g_steal_pointer (&result);
  return outcome;
}

static ChatdLoginClientOutcome
client_step (ChatdLoginClient *client, const ChatdAuthMessage *m, GBytes **ret_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;
  ChatdLoginClientOutcome outcome = chatd_login_client_handle (client, m, &out, &error);
  if (trace)
    g_printerr ("client: %s -> %d %s\n", chatd_auth_message_type_name (m->type), outcome,
                error ? error->message : "");
  switch (outcome)
    {
    case CHATD_LOGIN_CLIENT_SEND:
      {
        g_assert_no_error (error);
        g_assert_nonnull (out);
        chatd_auth_message_free (parse_ok (out));   /* it parses */
      }
      break;
    case CHATD_LOGIN_CLIENT_DONE:
      g_assert_no_error (error);
      break;
    case CHATD_LOGIN_CLIENT_FAILED:
      g_assert_nonnull (error);
      if (out != NULL)
        {
          g_autoptr(ChatdAuthMessage) check = parse_ok (out);
          g_assert_cmpint (check->type, ==, CHATD_MSG_FAILED);
        }
      break;
    default:
      g_assert_not_reached ();
    }
  if (ret_message)
    *ret_message = g_steal_pointer (&out);
  return outcome;
}

static void
world_init (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_crypto_init (NULL));
  world.now_us = 1000 * G_USEC_PER_SEC;
  world.server_key = chatd_suite_25519.import_private (&chatd_suite_25519, chatd_suite_25519_kat_private,
                                                       sizeof chatd_suite_25519_kat_private, &error);
  g_assert_no_error (error);
  world.alice_key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  g_assert_no_error (error);
  world.alice_public = chatd_suite_25519.export_public (world.alice_key, &error);
  g_assert_true (chatd_password_wrap_key ("alice", world.alice_key, (const guint8 *) "Alice", 5, &test_kdf,
                                          &world.alice_wrapped, &error));
  g_autoptr(ChatdKey) fake = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  world.fake_public = chatd_suite_25519.export_public (fake, &error);
  g_assert_true (chatd_password_wrap_decoy (server_secret, sizeof server_secret, "someone", &test_kdf,
                                            &world.fake_wrapped, &error));
  g_assert_no_error (error);

  g_autoptr(ChatdLoginServer) server = new_server ();
  g_autoptr(ChatdLoginClient) client = new_client ();
  world.hello = chatd_login_client_hello (client);
  g_autoptr(ChatdAuthMessage) hello = parse_ok (world.hello);
  g_assert_cmpint (server_step (server, hello, &world.challenge, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_autoptr(ChatdAuthMessage) challenge = parse_ok (world.challenge);
  g_assert_cmpint (client_step (client, challenge, &world.answer), ==, CHATD_LOGIN_CLIENT_SEND);
}

/* The PROOF Alice's node would send for this ANSWER and REPLY */
static GBytes *
real_proof (const ChatdAuthMessage *challenge, const ChatdAuthMessage *answer, const ChatdAuthMessage *reply,
            ChatdLoginServer *server)
{
  ChatdLoginTranscript t;
  chatd_login_transcript_init (&t, chatd_login_server_fingerprint (server), answer,
                               &answer->fields[AN_NONCE], &answer->fields[AN_SHARE],
                               &challenge->fields[CH_SHARE], reply);
  g_autoptr(GBytes) signature = NULL;
  g_assert_true (chatd_domain_sign (world.alice_key, CHATD_PURPOSE_PROOF, t.fields, CHATD_LOGIN_TRANSCRIPT_N,
                                    &signature, NULL));
  ChatdSlice field = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  return chatd_auth_message_build (CHATD_MSG_PROOF, &field, 1);
}

/* M's REPLY fields signed by the server over the client's transcript; NULL
 * if M is no REPLY or its key blob asks for more work than the harness runs */
static GBytes *
resign_reply (const ChatdAuthMessage *challenge, const ChatdAuthMessage *answer, GBytes *m)
{
  g_autoptr(ChatdAuthMessage) reply = chatd_auth_message_parse (m, NULL);
  if (reply == NULL || reply->type != CHATD_MSG_REPLY)
    return NULL;
  ChatdKdfParams params;
  if (chatd_password_wrapped_params (reply->fields[RE_WRAPPED].data, reply->fields[RE_WRAPPED].len,
                                     &params, NULL) &&
      (params.memory_kib > KDF_MEMORY_MAX_KIB || params.time_cost > KDF_TIME_MAX || params.parallelism > 4))
    return NULL;
  guint8 fingerprint[CHATD_FINGERPRINT_LEN];
  g_assert_true (chatd_key_fingerprint (world.server_key, fingerprint, NULL));
  ChatdLoginTranscript t;
  chatd_login_transcript_init (&t, fingerprint, challenge, &answer->fields[AN_NONCE],
                               &answer->fields[AN_SHARE], &challenge->fields[CH_SHARE], reply);
  g_autoptr(GBytes) signature = NULL;
  g_assert_true (chatd_domain_sign (world.server_key, CHATD_PURPOSE_REPLY, t.fields, CHATD_LOGIN_TRANSCRIPT_N,
                                    &signature, NULL));
  ChatdSlice fields[CHATD_AUTH_FIELDS_MAX];
  memcpy (fields, reply->fields, reply->n_fields * sizeof fields[0]);
  fields[RE_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  return chatd_auth_message_build (CHATD_MSG_REPLY, fields, reply->n_fields);
}

/* Runs a real login with a fresh client and server up to the client's
 * REPLY (stop_before_reply) or WELCOME; everything is returned. */
typedef struct {
  ChatdLoginServer *server;
  ChatdLoginClient *client;
  ChatdAuthMessage *challenge, *answer, *reply, *proof;
  ChatdLoginResult *result;
} Login;

static void
login_clear (Login *l)
{
  chatd_login_client_free (l->client);
  chatd_login_server_free (l->server);
  chatd_auth_message_free (l->challenge);
  chatd_auth_message_free (l->answer);
  chatd_auth_message_free (l->reply);
  chatd_auth_message_free (l->proof);
  chatd_login_result_free (l->result);
}

static void
login_run (Login *l, gboolean to_welcome)
{
  GBytes *out = NULL;
  l->server = new_server ();
  l->client = new_client ();
  g_autoptr(GBytes) hello_bytes = chatd_login_client_hello (l->client);
  g_autoptr(ChatdAuthMessage) hello = parse_ok (hello_bytes);
  g_assert_cmpint (server_step (l->server, hello, &out, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  l->challenge = parse_ok (out);
  g_bytes_unref (out);
  g_assert_cmpint (client_step (l->client, l->challenge, &out), ==, CHATD_LOGIN_CLIENT_SEND);
  l->answer = parse_ok (out);
  g_bytes_unref (out);
  g_assert_cmpint (server_step (l->server, l->answer, &out, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  l->reply = parse_ok (out);
  g_bytes_unref (out);
  if (!to_welcome)
    return;
  g_assert_cmpint (client_step (l->client, l->reply, &out), ==, CHATD_LOGIN_CLIENT_SEND);
  l->proof = parse_ok (out);
  g_bytes_unref (out);
  g_assert_cmpint (server_step (l->server, l->proof, NULL, &l->result), ==, CHATD_LOGIN_SERVER_DONE);
}

static void
client_takes (ChatdLoginClient *client, GBytes *m)
{
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (m, NULL);
  if (message == NULL)
    return;
  if (client_step (client, message, NULL) == CHATD_LOGIN_CLIENT_DONE)
    {
      g_autoptr(ChatdManifest) manifest = chatd_login_client_take_manifest (client);
      g_assert_nonnull (manifest);
      g_autoptr(ChatdChannel) channel = chatd_login_client_take_channel (client);
      g_assert_nonnull (channel);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialised;
  if (!initialised)
    {
      world_init ();
      trace = g_getenv ("FUZZ_LOGIN_TRACE") != NULL;
      initialised = TRUE;
    }
  if (size < 1)
    return 0;
  guint step = data[0] & 7;
  gboolean flag = (data[0] & 0x80) != 0;
  g_autoptr(GBytes) m = g_bytes_new (data + 1, size - 1);

  switch (step)
    {
    case 0:
    case 1:
      {
        g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (m, NULL);
        if (message == NULL)
          break;
        g_autoptr(ChatdLoginServer) server = new_server ();
        g_autoptr(GBytes) reply = NULL;
        server_step (server, message, &reply, NULL);
      }
      break;
    case 2:
      {
        Login l = { 0 };
        login_run (&l, FALSE);
        g_autoptr(GBytes) proof = flag ? real_proof (l.challenge, l.answer, l.reply, l.server) : g_bytes_ref (m);
        g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (proof, NULL);
        g_autoptr(ChatdLoginResult) result = NULL;
        if (message != NULL && server_step (l.server, message, NULL, &result) == CHATD_LOGIN_SERVER_DONE)
          {
            g_assert_cmpstr (result->name, ==, "alice");
            g_autoptr(ChatdManifest) manifest = chatd_manifest_new (1800000000, 30, result->client_nonce);
            g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
            g_autoptr(GBytes) welcome = chatd_login_server_welcome (l.server, result, encoded, NULL);
            g_assert_nonnull (welcome);
          }
        login_clear (&l);
      }
      break;
    case 3:
      {
        g_autoptr(ChatdLoginClient) client = new_client ();
        g_bytes_unref (chatd_login_client_hello (client));
        client_takes (client, m);
      }
      break;
    case 4:
      {
        Login l = { 0 };
        login_run (&l, FALSE);
        g_autoptr(GBytes) reply = flag ? resign_reply (l.challenge, l.answer, m) : g_bytes_ref (m);
        if (reply != NULL)
          client_takes (l.client, reply);
        login_clear (&l);
      }
      break;
    case 5:
      {
        Login l = { 0 };
        login_run (&l, TRUE);
        /* with the flag, a manifest that decodes is made for this login
         * (the seeds were made for another client's nonce) */
        g_autoptr(ChatdManifest) decoded = chatd_manifest_decode (data + 1, size - 1, NULL);
        g_autoptr(GBytes) manifest_bytes = g_bytes_ref (m);
        if (flag && decoded != NULL)
          {
            memcpy (decoded->nonce, l.result->client_nonce, sizeof decoded->nonce);
            g_bytes_unref (manifest_bytes);
            manifest_bytes = chatd_manifest_encode (decoded);
          }
        g_autoptr(GBytes) welcome = flag ? chatd_login_server_welcome (l.server, l.result, manifest_bytes, NULL)
                                         : g_bytes_ref (m);
        if (welcome != NULL)
          {
            g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (welcome, NULL);
            if (message != NULL &&
                client_step (l.client, message, NULL) == CHATD_LOGIN_CLIENT_DONE)
              {
                g_autoptr(ChatdManifest) manifest = chatd_login_client_take_manifest (l.client);
                g_assert_nonnull (manifest);
                g_assert_cmpmem (manifest->nonce, sizeof manifest->nonce,
                                 l.result->client_nonce, sizeof l.result->client_nonce);
                /* through the real server, DONE means the manifest was M */
                if (flag)
                  g_assert_nonnull (decoded);
              }
          }
        login_clear (&l);
      }
      break;
    default:
      break;
    }
  return 0;
}

#ifdef FUZZ_LOGIN_GEN_CORPUS
static void
write_seed (const char *dir, const char *name, guint8 selector, GBytes *message)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, &selector, 1);
  g_byte_array_append (out, g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  world_init ();
  Login l = { 0 };
  login_run (&l, TRUE);
  g_autoptr(ChatdManifest) manifest = chatd_manifest_new (1800000000, 30, l.result->client_nonce);
  chatd_manifest_add (manifest, "Alice", PEER, "25519", world.alice_public, 1800000000 + 3600);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  g_autoptr(GBytes) welcome = chatd_login_server_welcome (l.server, l.result, encoded, NULL);
  write_seed (argv[1], "0-hello", 0, world.hello);
  write_seed (argv[1], "0-answer", 0, world.answer);
  write_seed (argv[1], "1-answer", 1, world.answer);
  write_seed (argv[1], "2-proof", 2, l.proof->bytes);
  write_seed (argv[1], "2-real-proof", 0x82, l.proof->bytes);
  write_seed (argv[1], "3-challenge", 3, world.challenge);
  write_seed (argv[1], "4-reply", 4, l.reply->bytes);
  write_seed (argv[1], "4-reply-resigned", 0x84, l.reply->bytes);
  write_seed (argv[1], "5-welcome", 5, welcome);
  write_seed (argv[1], "5-manifest", 0x85, encoded);
  ChatdSlice reason = CHATD_SLICE_STR ("login failed");
  g_autoptr(GBytes) failed = chatd_auth_message_build (CHATD_MSG_FAILED, &reason, 1);
  write_seed (argv[1], "3-failed", 3, failed);
  login_clear (&l);
  return 0;
}
#endif
