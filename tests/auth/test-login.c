/* test-login.c: the login protocol's two sides, in process, message by
 * message: success with matching channel keys, and every refusal the issue
 * lists (wrong password, unknown user, replay, wrong proof of work, another
 * address, a fake server, a tampered manifest, a changed server key). */
#include "chatd-crypto.h"
#include "login.h"
#include "login-client.h"
#include "login-server.h"
#include "proof-of-work.h"
#include "session-protocol.h"
#include "suite-25519.h"

#include <gcrypt.h>
#include <string.h>

static const ChatdKdfParams test_kdf = { 1, 256, 1 };

typedef struct {
  ChatdKey *server_key;
  ChatdKey *alice_key;
  GBytes   *alice_public;
  GBytes   *alice_wrapped;
  guint8    secret[32];
  ChatdLoginServer *server;
} World;

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  return g_str_equal (name, chatd_suite_25519.name) ? &chatd_suite_25519 : NULL;
}

/* a stand-in for the directory: Alice exists; other names get a fake record
 * made like the real one (same suite, same blob length) */
static gboolean
lookup_record (gpointer user_data, const char *name, ChatdLoginRecord **ret_record, GError **error)
{
  World *w = user_data;
  ChatdLoginRecord *ret = *ret_record = g_new0 (ChatdLoginRecord, 1);
  ret->suite = g_strdup (chatd_suite_25519.name);
  if (g_str_equal (name, "alice"))
    {
      ret->public_key = g_bytes_ref (w->alice_public);
      ret->wrapped_key = g_bytes_ref (w->alice_wrapped);
      return TRUE;
    }
  g_autoptr(ChatdKey) fake = chatd_suite_25519.generate (&chatd_suite_25519, 0, error);
  ret->public_key = chatd_suite_25519.export_public (fake, error);
  guint8 *junk = g_malloc (g_bytes_get_size (w->alice_wrapped));
  memcpy (junk, g_bytes_get_data (w->alice_wrapped, NULL), g_bytes_get_size (w->alice_wrapped));
  for (gsize i = 64; i < g_bytes_get_size (w->alice_wrapped); i++)
    junk[i] ^= 0x5a;
  ret->wrapped_key = g_bytes_new_take (junk, g_bytes_get_size (w->alice_wrapped));
  return TRUE;
}

static void world_init_limits (World *w, guint pow_bits, guint per_name, guint per_address);

static void
world_init (World *w, guint pow_bits)
{
  world_init_limits (w, pow_bits, 100, 100);
}

static void
world_init_limits (World *w, guint pow_bits, guint per_name, guint per_address)
{
  g_autoptr(GError) error = NULL;
  w->server_key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  w->alice_key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  g_assert_no_error (error);
  w->alice_public = chatd_suite_25519.export_public (w->alice_key, &error);
  const guint8 password[] = "Alice";
  g_assert_true (chatd_password_wrap_key ("alice", w->alice_key, password, 5, &test_kdf,
                                          &w->alice_wrapped, &error));
  gcry_randomize (w->secret, sizeof w->secret, GCRY_STRONG_RANDOM);
  ChatdLoginServerConfig config = {
    .channel_suite = &chatd_suite_25519, .server_key = w->server_key, .server_secret = w->secret,
    .pow_bits = pow_bits, .pow_bits_max = 20, .hellos_per_second_before_raise = 1000,
    .attempts_per_minute_per_name = per_name, .attempts_per_minute_per_address = per_address,
    .lookup = lookup_record, .suite_lookup = lookup_suite, .user_data = w,
  };
  w->server = chatd_login_server_new (&config, &error);
  g_assert_no_error (error);
}

static void
world_clear (World *w)
{
  chatd_login_server_free (w->server);
  chatd_key_free (w->server_key);
  chatd_key_free (w->alice_key);
  g_bytes_unref (w->alice_public);
  g_bytes_unref (w->alice_wrapped);
}

static ChatdLoginClient *
new_client (const char *user, const char *password, GBytes *pinned)
{
  ChatdLoginClientConfig config = {
    .user = user, .password = (const guint8 *) password, .password_len = strlen (password),
    .channel_suite = &chatd_suite_25519, .suite_lookup = lookup_suite, .pinned_server_key = pinned,
  };
  g_autoptr(GError) error = NULL;
  ChatdLoginClient *client = chatd_login_client_new (&config, &error);
  g_assert_no_error (error);
  return client;
}

static ChatdAuthMessage *
parse (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ChatdAuthMessage *m = chatd_auth_message_parse (bytes, &error);
  g_assert_no_error (error);
  return m;
}

/* server step: returns the reply and the outcome */
static ChatdLoginServerOutcome
server_step (World *w, guint64 conn, const char *peer, GBytes *in, GBytes **out,
             ChatdLoginResult **result, GError **error)
{
  g_autoptr(ChatdAuthMessage) m = parse (in);
  return chatd_login_server_handle (w->server, conn, peer, g_get_monotonic_time (), m, out, result, error);
}

static ChatdLoginClientOutcome
client_step (ChatdLoginClient *c, GBytes *in, GBytes **out, GError **error)
{
  g_autoptr(ChatdAuthMessage) m = parse (in);
  return chatd_login_client_handle (c, m, out, error);
}

static void
test_success (void)
{
  World w = { 0 };
  world_init (&w, 8);
  g_autoptr(ChatdLoginClient) c = new_client ("alice", "Alice", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL, proof = NULL, welcome = NULL;
  g_autoptr(ChatdLoginResult) result = NULL;
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", hello, &challenge, NULL, &error), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &answer, &error), ==, CHATD_LOGIN_CLIENT_SEND);
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", answer, &reply, NULL, &error), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_no_error (error);
  g_assert_cmpint (client_step (c, reply, &proof, &error), ==, CHATD_LOGIN_CLIENT_SEND);
  g_assert_no_error (error);
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", proof, &welcome, &result, &error),
                   ==, CHATD_LOGIN_SERVER_DONE);
  g_assert_no_error (error);
  g_assert_cmpstr (result->name, ==, "alice");
  g_clear_pointer (&welcome, g_bytes_unref);

  g_autoptr(ChatdManifest) manifest = chatd_manifest_new (g_get_real_time () / G_USEC_PER_SEC, 30, result->client_nonce);
  chatd_manifest_add (manifest, "Alice", "127.0.0.1:4000", "25519", w.alice_public, 0);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  welcome = chatd_login_server_welcome (w.server, result, encoded, &error);
  g_assert_no_error (error);
  GBytes *none = NULL;
  g_assert_cmpint (client_step (c, welcome, &none, &error), ==, CHATD_LOGIN_CLIENT_DONE);
  g_assert_no_error (error);
  g_assert_cmpstr (chatd_login_client_get_registered_name (c), ==, "alice");
  g_autoptr(ChatdManifest) got = chatd_login_client_take_manifest (c);
  g_assert_cmpuint (got->entries->len, ==, 1);

  /* the two channels talk: the client's sealed packet opens at the server */
  g_autoptr(ChatdChannel) client_channel = chatd_login_client_take_channel (c);
  ChatdPacketProtector cp = chatd_channel_take_protector (g_steal_pointer (&client_channel));
  ChatdPacketProtector sp = chatd_channel_take_protector (g_steal_pointer (&result->channel));
  guint8 header[10] = "header....", payload[32] = "the payload of a packet", copy[32], tag[32];
  memcpy (copy, payload, sizeof payload);
  g_assert_true (cp.seal (cp.user_data, 7, header, sizeof header, payload, sizeof payload, tag));
  g_assert_true (memcmp (payload, copy, sizeof copy) != 0);   /* encrypted in place */
  g_assert_true (sp.open (sp.user_data, 7, header, sizeof header, payload, sizeof payload, tag));
  g_assert_cmpmem (payload, sizeof payload, copy, sizeof copy);
  /* a replayed packet number in the other direction does not open (other key) */
  g_assert_true (sp.seal (sp.user_data, 7, header, sizeof header, payload, sizeof payload, tag));
  guint8 flipped[32];
  memcpy (flipped, payload, sizeof flipped);
  g_assert_false (sp.open (sp.user_data, 7, header, sizeof header, flipped, sizeof flipped, tag));
  header[0] ^= 1;
  g_assert_false (cp.open (cp.user_data, 7, header, sizeof header, payload, sizeof payload, tag));
  cp.free_func (cp.user_data);
  sp.free_func (sp.user_data);
  world_clear (&w);
}

/* runs the login up to the REPLY and returns the client's verdict */
static ChatdLoginClientOutcome
login_to_reply (World *w, const char *user, const char *password, GError **error)
{
  g_autoptr(ChatdLoginClient) c = new_client (user, password, NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL, next = NULL;
  g_assert_cmpint (server_step (w, 9, "10.0.0.1:1", hello, &challenge, NULL, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &answer, NULL), ==, CHATD_LOGIN_CLIENT_SEND);
  g_assert_cmpint (server_step (w, 9, "10.0.0.1:1", answer, &reply, NULL, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  return client_step (c, reply, &next, error);
}

/* one login up to the server's answer to step 3, at time now_us (the rate
 * limits' clock): REPLY (the wrapped key released) or REFUSED; for a refusal
 * the client's reading of the server's FAILED message in ret_said */
static ChatdLoginServerOutcome
answer_at (World *w, const char *peer, const char *user, gint64 now_us, char **ret_said)
{
  static guint64 conn = 100;
  conn++;
  g_autoptr(ChatdLoginClient) c = new_client (user, "whatever", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL, next = NULL;
  g_autoptr(ChatdAuthMessage) m1 = parse (hello);
  g_assert_cmpint (chatd_login_server_handle (w->server, conn, peer, now_us, m1, &challenge, NULL, NULL),
                   ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &answer, NULL), ==, CHATD_LOGIN_CLIENT_SEND);
  g_autoptr(ChatdAuthMessage) m2 = parse (answer);
  g_autoptr(GError) error = NULL;
  ChatdLoginServerOutcome outcome = chatd_login_server_handle (w->server, conn, peer, now_us, m2, &reply,
                                                               NULL, &error);
  if (outcome == CHATD_LOGIN_SERVER_REFUSED)
    {
      g_assert_nonnull (reply);
      g_autoptr(GError) said = NULL;
      g_assert_cmpint (client_step (c, reply, &next, &said), ==, CHATD_LOGIN_CLIENT_FAILED);
      *ret_said = g_strdup (said->message);
    }
  return outcome;
}

static void
count_rate_limited (const char *name, guint64 value, gpointer user_data)
{
  if (g_str_equal (name, "login.rate-limited"))
    *(guint64 *) user_data = value;
}

static guint64
rate_limited (World *w)
{
  guint64 n = 0;
  chatd_login_server_foreach_counter (w->server, count_rate_limited, &n);
  return n;
}

/* The key-blob release limits at their edge (scaled down: 3 per minute per
 * name, 5 per address): the limit-th release is answered, the next one is
 * refused with a clear reason and counted; unknown names are limited alike;
 * a limit slows, it does not lock out: a token comes back after 60 s / limit. */
static void
test_rate_limits_at_edge (void)
{
  World w = { 0 };
  world_init_limits (&w, 4, 3, 5);
  gint64 now = g_get_monotonic_time ();
  g_autofree char *said = NULL;
  for (const char *const *user = (const char *const []) { "alice", "mallory", NULL }; *user; user++)
    {
      const char *peer = g_str_equal (*user, "alice") ? "10.0.0.1:1000" : "10.0.0.2:1000";
      for (int i = 0; i < 3; i++)
        g_assert_cmpint (answer_at (&w, peer, *user, now, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
      g_assert_cmpint (answer_at (&w, peer, *user, now, &said), ==, CHATD_LOGIN_SERVER_REFUSED);
      g_assert_nonnull (strstr (said, "too many login attempts"));
      g_clear_pointer (&said, g_free);
    }
  g_assert_cmpuint (rate_limited (&w), ==, 2);
  /* per address: five different names from one host (any port) */
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("user%d", i);
      g_autofree char *peer = g_strdup_printf ("10.0.0.3:%d", 1000 + i);
      g_assert_cmpint (answer_at (&w, peer, name, now, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
    }
  g_assert_cmpint (answer_at (&w, "10.0.0.3:2000", "user5", now, &said), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (said, "too many login attempts"));
  g_clear_pointer (&said, g_free);
  g_assert_cmpuint (rate_limited (&w), ==, 3);
  /* 20 s later one more release for alice (3 per minute), not two */
  now += 20 * G_USEC_PER_SEC + 1000;
  g_assert_cmpint (answer_at (&w, "10.0.0.4:1000", "Alice", now, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (answer_at (&w, "10.0.0.4:1000", "ALICE", now, &said), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_cmpuint (rate_limited (&w), ==, 4);
  world_clear (&w);
}

static void
test_wrong_password_and_unknown_user_look_alike (void)
{
  World w = { 0 };
  world_init (&w, 4);
  g_autoptr(GError) wrong = NULL, unknown = NULL;
  g_assert_cmpint (login_to_reply (&w, "Alice", "alice", &wrong), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_cmpint (login_to_reply (&w, "Mallory", "Mallory", &unknown), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_error (wrong, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_error (unknown, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_cmpstr (wrong->message, ==, unknown->message);
  g_assert_nonnull (strstr (wrong->message, "login failed"));
  world_clear (&w);
}

static void
test_answer_refusals (void)
{
  World w = { 0 };
  world_init (&w, 6);
  g_autoptr(ChatdLoginClient) c = new_client ("Alice", "Alice", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL;
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", hello, &challenge, NULL, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &answer, NULL), ==, CHATD_LOGIN_CLIENT_SEND);

  /* from another address: the MAC does not hold there */
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) refusal = NULL;
  g_assert_cmpint (server_step (&w, 2, "127.0.0.1:4001", answer, &refusal, NULL, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (error->message, "another address"));
  g_clear_error (&error);
  g_clear_pointer (&refusal, g_bytes_unref);

  /* a wrong proof of work: the next X after the client's that does not hold */
  g_autoptr(ChatdAuthMessage) parsed = parse (answer);
  guint64 x = 0;
  g_assert_true (chatd_auth_field_u64 (parsed, AN_POW, &x));
  guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
  memcpy (pow_challenge, parsed->fields[AN_N1].data, CHATD_LOGIN_N_LEN);
  memcpy (pow_challenge + CHATD_LOGIN_N_LEN, parsed->fields[AN_MAC].data, 32);
  guint bits = ((const guint8 *) parsed->fields[AN_BITS].data)[0];
  do
    x++;
  while (chatd_pow_check (pow_challenge, sizeof pow_challenge, parsed->fields[AN_SEALED].data,
                          parsed->fields[AN_SEALED].len, bits, x));
  guint8 x_be[8];
  chatd_u64_to_be (x, x_be);
  ChatdSlice fields[CHATD_AUTH_FIELDS_MAX];
  memcpy (fields, parsed->fields, sizeof (ChatdSlice) * parsed->n_fields);
  fields[AN_POW] = CHATD_SLICE (x_be, 8);
  g_autoptr(GBytes) bad_pow = chatd_auth_message_build (CHATD_MSG_ANSWER, fields, parsed->n_fields);
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", bad_pow, &refusal, NULL, &error), ==,
                   CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (error->message, "proof of work"));
  g_clear_error (&error);
  g_clear_pointer (&refusal, g_bytes_unref);

  /* the real one, then the same again: replay (a refused answer used nothing up) */
  g_assert_cmpint (server_step (&w, 1, "127.0.0.1:4000", answer, &reply, NULL, &error), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_no_error (error);
  g_assert_cmpint (server_step (&w, 3, "127.0.0.1:4000", answer, &refusal, NULL, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (error->message, "replayed"));
  g_clear_error (&error);

  /* a tampered challenge field (the timestamp pushed back) breaks the MAC */
  gsize len;
  guint8 *old = g_memdup2 (g_bytes_get_data (answer, &len), g_bytes_get_size (answer));
  old[3 + 1 + 16 + 1 + 1 + 1 + 2] ^= 0x40;   /* inside the ts field */
  g_autoptr(GBytes) old_ts = g_bytes_new_take (old, len);
  g_clear_pointer (&refusal, g_bytes_unref);
  g_assert_cmpint (server_step (&w, 4, "127.0.0.1:4000", old_ts, &refusal, NULL, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_clear_error (&error);
  world_clear (&w);
}

static gint64 clock_offset_us;

static gint64
shifted_clock (void)
{
  return g_get_real_time () + clock_offset_us;
}

static void
test_expired_challenge (void)
{
  World w = { 0 };
  world_init (&w, 2);
  /* the same server, but its wall clock is ours to move */
  ChatdLoginServerConfig config = {
    .channel_suite = &chatd_suite_25519, .server_key = w.server_key, .server_secret = w.secret,
    .pow_bits = 2, .pow_bits_max = 20, .hellos_per_second_before_raise = 1000,
    .attempts_per_minute_per_name = 100, .attempts_per_minute_per_address = 100,
    .lookup = lookup_record, .suite_lookup = lookup_suite, .user_data = &w, .wall_clock = shifted_clock,
  };
  chatd_login_server_free (w.server);
  w.server = chatd_login_server_new (&config, NULL);
  g_autoptr(ChatdLoginClient) c = new_client ("Alice", "Alice", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, refusal = NULL;
  clock_offset_us = 0;
  g_assert_cmpint (server_step (&w, 1, "h:1", hello, &challenge, NULL, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &answer, NULL), ==, CHATD_LOGIN_CLIENT_SEND);
  /* 31 s later the challenge is no longer accepted, and the client hears why */
  clock_offset_us = 31 * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  g_assert_cmpint (server_step (&w, 1, "h:1", answer, &refusal, NULL, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (error->message, "expired"));
  GBytes *none = NULL;
  g_autoptr(GError) client_error = NULL;
  g_assert_cmpint (client_step (c, refusal, &none, &client_error), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_nonnull (strstr (client_error->message, "challenge expired"));
  /* and nothing was kept for it: the same answer at the right time is not a replay */
  clock_offset_us = 0;
  g_autoptr(GBytes) reply = NULL;
  g_clear_error (&error);
  g_assert_cmpint (server_step (&w, 1, "h:1", answer, &reply, NULL, &error), ==, CHATD_LOGIN_SERVER_REPLY);
  world_clear (&w);
}

static void
test_replayed_proof (void)
{
  World w = { 0 };
  world_init (&w, 2);
  g_autoptr(ChatdLoginClient) c = new_client ("Alice", "Alice", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL, proof = NULL, out = NULL, again = NULL;
  g_autoptr(ChatdLoginResult) result = NULL;
  server_step (&w, 1, "h:1", hello, &challenge, NULL, NULL);
  client_step (c, challenge, &answer, NULL);
  server_step (&w, 1, "h:1", answer, &reply, NULL, NULL);
  client_step (c, reply, &proof, NULL);
  g_assert_cmpint (server_step (&w, 1, "h:1", proof, &out, &result, NULL), ==, CHATD_LOGIN_SERVER_DONE);
  /* the proof again, on this or another connection: no login in progress */
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdLoginResult) second = NULL;
  g_assert_cmpint (server_step (&w, 1, "h:1", proof, &again, &second, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_null (second);
  g_clear_error (&error);
  g_clear_pointer (&again, g_bytes_unref);
  g_assert_cmpint (server_step (&w, 2, "h:2", proof, &again, &second, &error), ==, CHATD_LOGIN_SERVER_REFUSED);
  g_assert_nonnull (strstr (error->message, "no login in progress"));
  world_clear (&w);
}

static void
test_difficulty_rises_under_load (void)
{
  World w = { 0 };
  world_init (&w, 4);
  gint64 t = g_get_monotonic_time ();
  guint base = chatd_login_server_pow_bits (w.server, t);
  g_assert_cmpuint (base, ==, 4);
  /* 8000 hellos in one second against a threshold of 1000: three doublings */
  g_autoptr(ChatdLoginClient) c = new_client ("x", "x", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(ChatdAuthMessage) m = parse (hello);
  for (int i = 0; i < 8000; i++)
    {
      g_autoptr(GBytes) challenge = NULL;
      chatd_login_server_handle (w.server, i, "h:1", t + 10, m, &challenge, NULL, NULL);
    }
  guint loaded = chatd_login_server_pow_bits (w.server, t + G_USEC_PER_SEC + 1);
  g_assert_cmpuint (loaded, ==, base + 3);
  /* and back when the flood stops */
  guint calm = chatd_login_server_pow_bits (w.server, t + 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (calm, ==, base);
  world_clear (&w);
}

static void
test_fake_server_and_changed_key (void)
{
  World real = { 0 }, fake = { 0 };
  world_init (&real, 2);
  world_init (&fake, 2);
  g_autoptr(GError) error = NULL;
  /* pinned to the real server, the fake one is refused at its challenge */
  g_autoptr(GBytes) pinned = chatd_suite_25519.export_public (real.server_key, NULL);
  g_autoptr(ChatdLoginClient) c = new_client ("Alice", "Alice", pinned);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL;
  server_step (&fake, 1, "127.0.0.1:4000", hello, &challenge, NULL, NULL);
  g_assert_cmpint (client_step (c, challenge, &answer, &error), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_nonnull (strstr (error->message, "key changed"));
  g_clear_error (&error);

  /* a man in the middle passes the real challenge but signs the reply itself */
  g_autoptr(ChatdLoginClient) c2 = new_client ("Alice", "Alice", NULL);
  g_autoptr(GBytes) hello2 = chatd_login_client_hello (c2);
  g_autoptr(GBytes) ch2 = NULL, an2 = NULL, real_reply = NULL, fake_reply = NULL, out = NULL;
  server_step (&real, 1, "127.0.0.1:4000", hello2, &ch2, NULL, NULL);
  g_assert_cmpint (client_step (c2, ch2, &an2, NULL), ==, CHATD_LOGIN_CLIENT_SEND);
  g_assert_cmpint (server_step (&real, 1, "127.0.0.1:4000", an2, &real_reply, NULL, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  /* re-sign the same reply fields with another key */
  g_autoptr(ChatdAuthMessage) rm = parse (real_reply);
  ChatdSlice fields[6];
  memcpy (fields, rm->fields, sizeof fields);
  g_autoptr(GBytes) sig = chatd_suite_25519.sign (fake.server_key, (const guint8 *) "x", 1, NULL);
  fields[RE_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (sig, NULL), g_bytes_get_size (sig));
  fake_reply = chatd_auth_message_build (CHATD_MSG_REPLY, fields, 6);
  g_assert_cmpint (client_step (c2, fake_reply, &out, &error), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_nonnull (strstr (error->message, "not signed by its key"));
  world_clear (&real);
  world_clear (&fake);
}

static void
test_tampered_manifest (void)
{
  World w = { 0 };
  world_init (&w, 2);
  g_autoptr(ChatdLoginClient) c = new_client ("Alice", "Alice", NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (c);
  g_autoptr(GBytes) challenge = NULL, answer = NULL, reply = NULL, proof = NULL, out = NULL;
  g_autoptr(ChatdLoginResult) result = NULL;
  server_step (&w, 1, "h:1", hello, &challenge, NULL, NULL);
  client_step (c, challenge, &answer, NULL);
  server_step (&w, 1, "h:1", answer, &reply, NULL, NULL);
  client_step (c, reply, &proof, NULL);
  g_assert_cmpint (server_step (&w, 1, "h:1", proof, &out, &result, NULL), ==, CHATD_LOGIN_SERVER_DONE);
  g_autoptr(ChatdManifest) manifest = chatd_manifest_new (1000, 30, result->client_nonce);
  chatd_manifest_add (manifest, "Alice", "127.0.0.1:4000", "25519", w.alice_public, 0);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  g_autoptr(GBytes) welcome = chatd_login_server_welcome (w.server, result, encoded, NULL);
  gsize len;
  guint8 *bad = g_memdup2 (g_bytes_get_data (welcome, &len), g_bytes_get_size (welcome));
  bad[3 + 2 + 20] ^= 1;   /* inside the manifest */
  g_autoptr(GBytes) tampered = g_bytes_new_take (bad, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) none = NULL;
  g_assert_cmpint (client_step (c, tampered, &none, &error), ==, CHATD_LOGIN_CLIENT_FAILED);
  g_assert_nonnull (strstr (error->message, "not signed by the server"));
  world_clear (&w);
}

static void
test_malformed_messages (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  for (int i = 0; i < 2000; i++)
    {
      guint8 buf[300];
      gsize len = g_rand_int_range (rand, 0, sizeof buf);
      for (gsize j = 0; j < len; j++)
        buf[j] = g_rand_int (rand);
      if (len > 0)
        buf[0] = 1;
      if (len > 1)
        buf[1] = g_rand_int_range (rand, 1, 21);
      g_autoptr(GBytes) bytes = g_bytes_new (buf, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (bytes, &error);
      g_assert_true ((m == NULL) == (error != NULL));
    }
}

/* the manifest's times are signed 64-bit: an expiry beyond INT64_MAX used to
 * decode to a negative time before the issue (found by fuzz-manifest) */
static void
test_manifest_time_bounds (void)
{
  guint8 nonce[CHATD_MANIFEST_NONCE_LEN] = { 0 };
  g_autoptr(ChatdManifest) m = chatd_manifest_new (1800000000, 30, nonce);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (m);
  gsize len = g_bytes_get_size (encoded);
  guint8 *bytes = g_memdup2 (g_bytes_get_data (encoded, NULL), len);
  g_autoptr(ChatdManifest) ok = chatd_manifest_decode (bytes, len, NULL);
  g_assert_nonnull (ok);
  g_assert_cmpint (ok->expires_at, ==, 1800000030);
  memset (bytes + 8, 0xff, 8);   /* expires_at = 2^64 - 1 */
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdManifest) wrapped = chatd_manifest_decode (bytes, len, &error);
  g_assert_null (wrapped);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  bytes[8] = 0x7f;               /* INT64_MAX: still a time */
  g_autoptr(ChatdManifest) far = chatd_manifest_decode (bytes, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (far->expires_at, ==, G_MAXINT64);
  g_free (bytes);
}

/* a server's refusal text reaches chatctl as a D-Bus string: it must be
 * UTF-8 even when the server sends other bytes or the 200-byte limit cuts a
 * character (it used to be the raw bytes: found while writing fuzz-session) */
static void
test_refusal_text (void)
{
  g_autofree char *plain = chatd_session_refusal_text ("no such user", 12);
  g_assert_cmpstr (plain, ==, "no such user");
  static const guint8 invalid[] = { 'b', 'a', 'd', 0xff, 0x00, 'x' };
  g_autofree char *fixed = chatd_session_refusal_text (invalid, sizeof invalid);
  g_assert_true (g_utf8_validate (fixed, -1, NULL));
  g_assert_true (g_str_has_prefix (fixed, "bad"));
  GString *long_text = g_string_new (NULL);
  while (long_text->len < 300)
    g_string_append (long_text, "\xc3\xa9t\xc3\xa9 ");   /* 2-byte characters: one is cut at 200 */
  g_string_prepend_c (long_text, 'x');
  g_autofree char *cut = chatd_session_refusal_text (long_text->str, long_text->len);
  g_assert_true (g_utf8_validate (cut, -1, NULL));
  g_assert_cmpuint (strlen (cut), <=, CHATD_SESSION_REFUSAL_TEXT_MAX + 2);
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_string (cut));
  g_assert_nonnull (v);
  g_string_free (long_text, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/auth/login/success", test_success);
  g_test_add_func ("/auth/login/wrong-password-and-unknown-user-look-alike",
                   test_wrong_password_and_unknown_user_look_alike);
  g_test_add_func ("/auth/login/answer-refusals", test_answer_refusals);
  g_test_add_func ("/auth/login/fake-server-and-changed-key", test_fake_server_and_changed_key);
  g_test_add_func ("/auth/login/tampered-manifest", test_tampered_manifest);
  g_test_add_func ("/auth/login/expired-challenge", test_expired_challenge);
  g_test_add_func ("/auth/login/replayed-proof", test_replayed_proof);
  g_test_add_func ("/auth/login/difficulty-rises-under-load", test_difficulty_rises_under_load);
  g_test_add_func ("/auth/login/rate-limits-at-edge", test_rate_limits_at_edge);
  g_test_add_func ("/auth/message/malformed", test_malformed_messages);
  g_test_add_func ("/auth/manifest/time-bounds", test_manifest_time_bounds);
  g_test_add_func ("/auth/session/refusal-text", test_refusal_text);
  return g_test_run ();
}
