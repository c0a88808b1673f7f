/* test-enroll.c: enrolment's two sides in process, message by message: a
 * key pair made and wrapped on the client, registered sealed to the server
 * key; refusals (replayed, forged or expired challenge, wrong proof of work,
 * a fake server's answer, a changed server key, parameters above the cap);
 * malformed messages and payloads refused; passwd's signed fields. */
#include "chatd-crypto.h"
#include "enroll.h"
#include "enroll-client.h"
#include "enroll-server.h"
#include "login.h"
#include "login-server.h"
#include "proof-of-work.h"
#include "session-protocol.h"
#include "suite-25519.h"

#include <gcrypt.h>
#include <string.h>

#define TOKEN "00112233445566778899aabbccddeeff"
#define PEER  "127.0.0.1:4000"

static const ChatdKdfParams test_kdf = { 1, 256, 1 };

typedef struct {
  ChatdKey          *server_key;
  guint8             secret[32];
  ChatdLoginServer  *login;      /* makes the challenges */
  ChatdEnrollServer *enroll;
} World;

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  return g_str_equal (name, chatd_suite_25519.name) ? &chatd_suite_25519 : NULL;
}

static gboolean
lookup_record (gpointer user_data, const char *name, ChatdLoginRecord **ret_record, GError **error)
{
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no records in this test");
  return FALSE;
}

static void
world_init (World *w, ChatdKdfParams kdf)
{
  g_autoptr(GError) error = NULL;
  w->server_key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  g_assert_no_error (error);
  gcry_randomize (w->secret, sizeof w->secret, GCRY_STRONG_RANDOM);
  ChatdLoginServerConfig config = {
    .channel_suite = &chatd_suite_25519, .server_key = w->server_key, .server_secret = w->secret,
    .pow_bits = 6, .pow_bits_max = 20, .hellos_per_second_before_raise = 1000,
    .attempts_per_minute_per_name = 100, .attempts_per_minute_per_address = 100,
    .lookup = lookup_record, .suite_lookup = lookup_suite, .user_data = w,
  };
  w->login = chatd_login_server_new (&config, &error);
  g_assert_no_error (error);
  ChatdEnrollServerConfig ec = { .server_key = w->server_key, .server_secret = w->secret, .kdf = kdf };
  w->enroll = chatd_enroll_server_new (&ec, &error);
  g_assert_no_error (error);
}

static void
world_clear (World *w)
{
  chatd_login_server_free (w->login);
  chatd_enroll_server_free (w->enroll);
  chatd_key_free (w->server_key);
}

static ChatdAuthMessage *
parse (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ChatdAuthMessage *m = chatd_auth_message_parse (bytes, &error);
  g_assert_no_error (error);
  return m;
}

static ChatdEnrollClient *
new_client (const char *user, const char *token, GBytes *pinned, GError **error)
{
  ChatdEnrollClientConfig config = {
    .user = user, .token = token, .password = (const guint8 *) "secret", .password_len = 6,
    .key_suite = &chatd_suite_25519, .channel_suite = &chatd_suite_25519,
    .suite_lookup = lookup_suite, .pinned_server_key = pinned,
  };
  return chatd_enroll_client_new (&config, error);
}

static ChatdEnrollClientOutcome
client_step (ChatdEnrollClient *c, GBytes *in, GBytes **out, GError **error)
{
  g_autoptr(ChatdAuthMessage) m = parse (in);
  return chatd_enroll_client_handle (c, m, out, error);
}

static ChatdEnrollServerOutcome
enroll_step (World *w, const char *peer, gint64 wall_us, GBytes *in, GBytes **out,
             ChatdEnrollRequest **request, GError **error)
{
  g_autoptr(ChatdAuthMessage) m = parse (in);
  return chatd_enroll_server_handle (w->enroll, peer, wall_us, m, out, request, error);
}

/* query, params, hello, challenge: returns the client's ENROLL */
static GBytes *
run_to_enroll (World *w, ChatdEnrollClient *c)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) query = chatd_enroll_client_start (c);
  g_autoptr(GBytes) params = NULL, hello = NULL, challenge = NULL;
  GBytes *enroll = NULL;
  g_autoptr(ChatdEnrollRequest) none = NULL;
  g_assert_cmpint (enroll_step (w, PEER, g_get_real_time (), query, &params, &none, &error),
                   ==, CHATD_ENROLL_SERVER_REPLY);
  g_assert_cmpint (client_step (c, params, &hello, &error), ==, CHATD_ENROLL_CLIENT_SEND);
  g_assert_no_error (error);
  g_autoptr(ChatdAuthMessage) hello_msg = parse (hello);
  g_assert_cmpint (hello_msg->type, ==, CHATD_MSG_HELLO);
  g_autoptr(ChatdLoginResult) result = NULL;
  g_assert_cmpint (chatd_login_server_handle (w->login, 1, PEER, g_get_monotonic_time (), hello_msg,
                                              &challenge, &result, &error), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (c, challenge, &enroll, &error), ==, CHATD_ENROLL_CLIENT_SEND);
  g_assert_no_error (error);
  return enroll;
}

static void
test_success (void)
{
  World w = { 0 };
  world_init (&w, test_kdf);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdEnrollClient) c = new_client ("Dave", TOKEN, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) enroll = run_to_enroll (&w, c);
  g_autoptr(GBytes) reply = NULL, enrolled = NULL, none = NULL;
  g_autoptr(ChatdEnrollRequest) request = NULL;
  g_assert_cmpint (enroll_step (&w, PEER, g_get_real_time (), enroll, &reply, &request, &error),
                   ==, CHATD_ENROLL_SERVER_REQUEST);
  g_assert_no_error (error);
  g_assert_null (reply);
  g_assert_cmpstr (request->payload.name, ==, "dave");
  g_assert_cmpstr (request->payload.token, ==, TOKEN);
  g_assert_cmpstr (request->payload.suite, ==, "25519");
  g_assert_cmpuint (g_bytes_get_size (request->payload.wrapped_key), ==, CHATD_WRAP_BLOB_LEN);
  /* the blob unwraps with the password, for the folded name, to the registered public key */
  ChatdKdfParams params;
  g_assert_true (chatd_password_wrapped_params (g_bytes_get_data (request->payload.wrapped_key, NULL),
                                                CHATD_WRAP_BLOB_LEN, &params, NULL));
  g_assert_cmpuint (params.memory_kib, ==, test_kdf.memory_kib);
  g_autoptr(ChatdKey) key = NULL;
  g_assert_true (chatd_password_unwrap_key ("dave", &chatd_suite_25519, (const guint8 *) "secret", 6,
                                            g_bytes_get_data (request->payload.wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &key, &error));
  g_autoptr(GBytes) public = chatd_suite_25519.export_public (key, &error);
  g_assert_true (g_bytes_equal (public, request->payload.public_key));

  enrolled = chatd_enroll_server_enrolled (w.enroll, request, "Dave", &error);
  g_assert_no_error (error);
  g_assert_cmpint (client_step (c, enrolled, &none, &error), ==, CHATD_ENROLL_CLIENT_DONE);
  g_assert_no_error (error);
  g_assert_cmpstr (chatd_enroll_client_get_registered_name (c), ==, "Dave");
  gsize len;
  const guint8 *server_public = g_bytes_get_data (chatd_enroll_client_get_server_key (c), &len);
  g_autoptr(GBytes) expected = chatd_suite_25519.export_public (w.server_key, NULL);
  g_assert_cmpmem (server_public, len, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));

  /* the same ENROLL again: the challenge is used */
  g_autoptr(ChatdEnrollRequest) again = NULL;
  g_autoptr(GBytes) refused = NULL;
  g_autoptr(GError) replay_error = NULL;
  g_assert_cmpint (enroll_step (&w, PEER, g_get_real_time (), enroll, &refused, &again, &replay_error),
                   ==, CHATD_ENROLL_SERVER_REFUSED);
  g_assert_error (replay_error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (replay_error->message, "replayed"));
  g_assert_nonnull (refused);
  world_clear (&w);
}

static GBytes *
with_field (GBytes *message, guint index, const void *data, gsize len)
{
  g_autoptr(ChatdAuthMessage) m = parse (message);
  ChatdSlice fields[CHATD_AUTH_FIELDS_MAX];
  memcpy (fields, m->fields, sizeof fields);
  fields[index] = CHATD_SLICE (data, len);
  return chatd_auth_message_build (m->type, fields, m->n_fields);
}

static void
expect_refused (World *w, const char *peer, gint64 wall_us, GBytes *enroll, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(ChatdEnrollRequest) request = NULL;
  g_assert_cmpint (enroll_step (w, peer, wall_us, enroll, &reply, &request, &error),
                   ==, CHATD_ENROLL_SERVER_REFUSED);
  g_assert_null (request);
  g_assert_nonnull (reply);
  g_autoptr(ChatdAuthMessage) failed = parse (reply);
  g_assert_cmpint (failed->type, ==, CHATD_MSG_FAILED);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_refusals (void)
{
  World w = { 0 };
  world_init (&w, test_kdf);
  g_autoptr(ChatdEnrollClient) c = new_client ("Dave", TOKEN, NULL, NULL);
  g_autoptr(GBytes) enroll = run_to_enroll (&w, c);
  /* another address, an altered MAC, a wrong proof of work, too late:
   * each refused before the payload is opened (and none uses the challenge up) */
  expect_refused (&w, "127.0.0.2:4000", g_get_real_time (), enroll, "MAC");
  guint8 mac[32] = { 0 };
  g_autoptr(GBytes) forged = with_field (enroll, EN_MAC, mac, sizeof mac);
  expect_refused (&w, PEER, g_get_real_time (), forged, "MAC");
  g_autoptr(ChatdAuthMessage) m = parse (enroll);
  guint64 x = 0;
  chatd_auth_field_u64 (m, EN_POW, &x);
  guint8 bad_pow[8];
  gboolean found = FALSE;
  /* find an X that does not hold (most do not at 6 bits) */
  for (guint64 other = x + 1; other < x + 1000 && !found; other++)
    {
      guint8 pow_challenge[CHATD_LOGIN_N_LEN + 32];
      memcpy (pow_challenge, m->fields[EN_N1].data, CHATD_LOGIN_N_LEN);
      memcpy (pow_challenge + CHATD_LOGIN_N_LEN, m->fields[EN_MAC].data, 32);
      if (!chatd_pow_check (pow_challenge, sizeof pow_challenge, m->fields[EN_SEALED].data,
                            m->fields[EN_SEALED].len, 6, other))
        {
          chatd_u64_to_be (other, bad_pow);
          found = TRUE;
        }
    }
  g_assert_true (found);
  g_autoptr(GBytes) wrong_pow = with_field (enroll, EN_POW, bad_pow, 8);
  expect_refused (&w, PEER, g_get_real_time (), wrong_pow, "proof of work");
  expect_refused (&w, PEER, g_get_real_time () + CHATD_LOGIN_CHALLENGE_LIFETIME_US + G_USEC_PER_SEC,
                  enroll, "expired");
  /* none of those used the challenge up: the genuine ENROLL still goes through */
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(ChatdEnrollRequest) request = NULL;
  g_assert_cmpint (enroll_step (&w, PEER, g_get_real_time (), enroll, &reply, &request, &error),
                   ==, CHATD_ENROLL_SERVER_REQUEST);
  world_clear (&w);
}

static void
test_client_refusals (void)
{
  World w = { 0 };
  world_init (&w, test_kdf);
  g_autoptr(GError) error = NULL;
  /* malformed token or name: refused before anything is sent */
  g_assert_null (new_client ("Dave", "not-a-token", NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (new_client ("not a name", TOKEN, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* an answer signed by another key (a fake server) */
  g_autoptr(ChatdEnrollClient) c = new_client ("Dave", TOKEN, NULL, NULL);
  g_autoptr(GBytes) enroll = run_to_enroll (&w, c);
  g_autoptr(GBytes) reply = NULL, none = NULL;
  g_autoptr(ChatdEnrollRequest) request = NULL;
  g_assert_cmpint (enroll_step (&w, PEER, g_get_real_time (), enroll, &reply, &request, &error),
                   ==, CHATD_ENROLL_SERVER_REQUEST);
  World fake = { 0 };
  world_init (&fake, test_kdf);
  g_autoptr(GBytes) forged = chatd_enroll_server_enrolled (fake.enroll, request, "Dave", &error);
  g_assert_cmpint (client_step (c, forged, &none, &error), ==, CHATD_ENROLL_CLIENT_FAILED);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "not signed"));
  g_clear_error (&error);

  /* a pinned server key that differs: refused, both fingerprints named */
  g_autoptr(GBytes) pinned = chatd_suite_25519.export_public (fake.server_key, NULL);
  g_autoptr(ChatdEnrollClient) pinned_client = new_client ("Dave", TOKEN, pinned, NULL);
  g_autoptr(GBytes) query = chatd_enroll_client_start (pinned_client);
  g_autoptr(GBytes) params = NULL, hello = NULL, challenge = NULL, out = NULL;
  g_assert_cmpint (enroll_step (&w, PEER, g_get_real_time (), query, &params, &request, NULL), ==,
                   CHATD_ENROLL_SERVER_REPLY);
  g_assert_cmpint (client_step (pinned_client, params, &hello, NULL), ==, CHATD_ENROLL_CLIENT_SEND);
  g_autoptr(ChatdAuthMessage) hello_msg = parse (hello);
  g_autoptr(ChatdLoginResult) result = NULL;
  g_assert_cmpint (chatd_login_server_handle (w.login, 2, PEER, g_get_monotonic_time (), hello_msg,
                                              &challenge, &result, NULL), ==, CHATD_LOGIN_SERVER_REPLY);
  g_assert_cmpint (client_step (pinned_client, challenge, &out, &error), ==, CHATD_ENROLL_CLIENT_FAILED);
  g_assert_nonnull (strstr (error->message, "pinned"));
  g_assert_nonnull (strstr (error->message, "offered"));
  g_clear_error (&error);

  /* parameters above the cap: refused before any work */
  World greedy = { 0 };
  world_init (&greedy, (ChatdKdfParams) { 1, CHATD_KDF_MAX_MEMORY_KIB * 2, 1 });
  g_autoptr(ChatdEnrollClient) g = new_client ("Dave", TOKEN, NULL, NULL);
  g_autoptr(GBytes) q2 = chatd_enroll_client_start (g);
  g_autoptr(GBytes) p2 = NULL, h2 = NULL;
  g_assert_cmpint (enroll_step (&greedy, PEER, g_get_real_time (), q2, &p2, &request, NULL), ==,
                   CHATD_ENROLL_SERVER_REPLY);
  g_assert_cmpint (client_step (g, p2, &h2, &error), ==, CHATD_ENROLL_CLIENT_FAILED);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* the server's FAILED reaches the user as a refusal with the reason */
  g_autoptr(GBytes) failed = chatd_enroll_failed_message ("this token has already been used");
  g_autoptr(ChatdEnrollClient) r = new_client ("Dave", TOKEN, NULL, NULL);
  g_autoptr(GBytes) q3 = chatd_enroll_client_start (r);
  g_assert_nonnull (q3);
  g_autoptr(GBytes) o3 = NULL;
  g_assert_cmpint (client_step (r, failed, &o3, &error), ==, CHATD_ENROLL_CLIENT_FAILED);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "already been used"));
  world_clear (&greedy);
  world_clear (&fake);
  world_clear (&w);
}

static GBytes *
payload_bytes (const char *name, const char *token, const char *suite, gsize key_len, gsize wrapped_len,
               const char *trailer)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *zeros = g_malloc0 (MAX (key_len, wrapped_len) + 1);
  chatd_session_append_field (out, name, strlen (name));
  chatd_session_append_field (out, token, strlen (token));
  chatd_session_append_field (out, suite, strlen (suite));
  chatd_session_append_field (out, zeros, key_len);
  chatd_session_append_field (out, zeros, wrapped_len);
  if (trailer != NULL)
    g_byte_array_append (out, (const guint8 *) trailer, strlen (trailer));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static gboolean
payload_ok (GBytes *bytes)
{
  ChatdEnrollPayload p = { 0 };
  g_autoptr(GError) error = NULL;
  gboolean ok = chatd_enroll_payload_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &p, &error);
  g_assert_true (ok == (error == NULL));
  chatd_enroll_payload_clear (&p);
  return ok;
}

static void
test_malformed (void)
{
  /* payloads */
  g_autoptr(GBytes) good = payload_bytes ("dave", TOKEN, "25519", 40, CHATD_WRAP_BLOB_LEN, NULL);
  g_assert_true (payload_ok (good));
  g_autoptr(GBytes) trailing = payload_bytes ("dave", TOKEN, "25519", 40, 100, "x");
  g_assert_false (payload_ok (trailing));
  g_autoptr(GBytes) bad_token = payload_bytes ("dave", "zz112233445566778899aabbccddeeff", "25519", 40, 100, NULL);
  g_assert_false (payload_ok (bad_token));
  g_autoptr(GBytes) long_name = payload_bytes ("a-name-that-is-longer-than-32-bytes", TOKEN, "25519", 40, 100, NULL);
  g_assert_false (payload_ok (long_name));
  g_autoptr(GBytes) empty_key = payload_bytes ("dave", TOKEN, "25519", 0, 100, NULL);
  g_assert_false (payload_ok (empty_key));
  g_autoptr(GBytes) big_key = payload_bytes ("dave", TOKEN, "25519", 5000, 100, NULL);
  g_assert_false (payload_ok (big_key));
  /* a NUL inside the name */
  guint8 with_nul[] = { 5, 'd', 'a', 0, 'v', 'e' };
  g_autoptr(GByteArray) nul = g_byte_array_new ();
  g_byte_array_append (nul, with_nul, sizeof with_nul);
  g_autoptr(GBytes) rest = payload_bytes ("", TOKEN, "25519", 40, 100, NULL);
  g_byte_array_append (nul, (const guint8 *) g_bytes_get_data (rest, NULL) + 1, g_bytes_get_size (rest) - 1);
  g_autoptr(GBytes) nul_bytes = g_bytes_new (nul->data, nul->len);
  g_assert_false (payload_ok (nul_bytes));
  /* every truncation of a good payload is refused */
  for (gsize len = 0; len < g_bytes_get_size (good); len += 7)
    {
      g_autoptr(GBytes) cut = g_bytes_new (g_bytes_get_data (good, NULL), len);
      g_assert_false (payload_ok (cut));
    }

  /* messages: wrong field counts and lengths */
  guint8 n16[16] = { 0 }, n32[32] = { 0 }, u64[8] = { 0 }, bits = 6;
  ChatdSlice enroll_fields[] = { CHATD_SLICE (n16, 16), CHATD_SLICE (&bits, 1), CHATD_SLICE (u64, 8),
                                 CHATD_SLICE_STR (PEER), CHATD_SLICE (n32, 32), CHATD_SLICE (n32, 32),
                                 CHATD_SLICE (n32, 32), CHATD_SLICE (n32, 32), CHATD_SLICE (u64, 8) };
  g_autoptr(GBytes) ok = chatd_auth_message_build (CHATD_MSG_ENROLL, enroll_fields, 9);
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (ok, NULL);
  g_assert_nonnull (parsed);
  gsize len;
  const guint8 *data = g_bytes_get_data (ok, &len);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  copy[2] = 8;   /* one field fewer than it holds */
  g_autoptr(GBytes) wrong_count = g_bytes_new (copy, len);
  g_autoptr(GError) error = NULL;
  g_assert_null (chatd_auth_message_parse (wrong_count, &error));
  g_assert_nonnull (strstr (error->message, "malformed"));
  g_clear_error (&error);
  const guint8 three_fields[] = { 1, CHATD_MSG_ENROLL_PARAMS, 3, 8, 0, 0, 0, 0, 0, 0, 0, 1,
                                  8, 0, 0, 0, 0, 0, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 1 };
  g_autoptr(GBytes) short_field = g_bytes_new (three_fields, sizeof three_fields);
  g_assert_null (chatd_auth_message_parse (short_field, &error));
  g_clear_error (&error);
  const guint8 query_with_field[] = { 1, CHATD_MSG_ENROLL_QUERY, 1, 0 };
  g_autoptr(GBytes) query = g_bytes_new (query_with_field, sizeof query_with_field);
  g_assert_null (chatd_auth_message_parse (query, &error));
  g_clear_error (&error);
  const guint8 enrolled_empty_name[] = { 1, CHATD_MSG_ENROLLED, 2, 0, 1, 'x' };
  g_autoptr(GBytes) enrolled = g_bytes_new (enrolled_empty_name, sizeof enrolled_empty_name);
  g_assert_null (chatd_auth_message_parse (enrolled, &error));
  g_clear_error (&error);
  const guint8 ended_ok[] = { 1, CHATD_MSG_ENDED, 1, 3, 'b', 'y', 'e' };
  g_autoptr(GBytes) ended = g_bytes_new (ended_ok, sizeof ended_ok);
  g_autoptr(ChatdAuthMessage) ended_msg = chatd_auth_message_parse (ended, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ended_msg->type, ==, CHATD_MSG_ENDED);
}

static void
test_passwd_fields (void)
{
  g_autoptr(ChatdKey) key = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  g_autoptr(GBytes) blob = NULL, signature = NULL;
  g_assert_true (chatd_password_wrap_key ("dave", key, (const guint8 *) "new", 3, &test_kdf, &blob, NULL));
  guint8 digest[32];
  ChatdSlice fields[CHATD_PASSWD_FIELDS];
  chatd_passwd_fields ("dave", g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), digest, fields);
  g_assert_true (chatd_domain_sign (key, CHATD_PURPOSE_PASSWD, fields, CHATD_PASSWD_FIELDS, &signature, NULL));
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);
  g_assert_true (chatd_domain_verify (key, CHATD_PURPOSE_PASSWD, fields, CHATD_PASSWD_FIELDS, sig, sig_len, NULL));
  /* another purpose, another name, another blob: no */
  g_assert_false (chatd_domain_verify (key, CHATD_PURPOSE_PROOF, fields, CHATD_PASSWD_FIELDS, sig, sig_len, NULL));
  ChatdSlice other[CHATD_PASSWD_FIELDS];
  guint8 other_digest[32];
  chatd_passwd_fields ("eve", g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), other_digest, other);
  g_assert_false (chatd_domain_verify (key, CHATD_PURPOSE_PASSWD, other, CHATD_PASSWD_FIELDS, sig, sig_len, NULL));
  chatd_passwd_fields ("dave", g_bytes_get_data (blob, NULL), g_bytes_get_size (blob) - 1, other_digest, other);
  g_assert_false (chatd_domain_verify (key, CHATD_PURPOSE_PASSWD, other, CHATD_PASSWD_FIELDS, sig, sig_len, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/auth/enroll/success", test_success);
  g_test_add_func ("/auth/enroll/server-refusals", test_refusals);
  g_test_add_func ("/auth/enroll/client-refusals", test_client_refusals);
  g_test_add_func ("/auth/enroll/malformed", test_malformed);
  g_test_add_func ("/auth/passwd/signed-fields", test_passwd_fields);
  return g_test_run ();
}
