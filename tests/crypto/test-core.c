/* test-core.c: domain-separated signatures and MACs, password wrapping.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "suite-25519.h"
#include "suite-rsa.h"
#include "test-util.h"

#include <gcrypt.h>

/* cheap parameters for tests; one case uses the defaults */
static const ChatdKdfParams test_params = { 1, 256, 1 };

static ChatdKey *
kat_key (const ChatdSuite *suite)
{
  g_autoptr(GError) error = NULL;
  ChatdKey *key = suite->import_private (suite, suite->kats[0].key.data, suite->kats[0].key.len,
                                         &error);
  g_assert_no_error (error);
  return key;
}

static void
test_domain_purpose (gconstpointer data)
{
  const ChatdSuite *suite = data;
  g_autoptr(ChatdKey) key = kat_key (suite);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sig = NULL;
  ChatdSlice fields[] = { CHATD_SLICE ("ab", 2), CHATD_SLICE ("c", 1) };
  ChatdSlice shifted[] = { CHATD_SLICE ("a", 1), CHATD_SLICE ("bc", 2) };
  ChatdSlice joined[] = { CHATD_SLICE ("abc", 3) };

  g_assert_true (chatd_domain_sign (key, "manifest", fields, 2, &sig, &error));
  g_assert_no_error (error);
  g_assert_true (chatd_domain_verify (key, "manifest", fields, 2, TEST_DATA (sig),
                                      TEST_LEN (sig), &error));
  /* another purpose */
  g_assert_false (chatd_domain_verify (key, "envelope", fields, 2, TEST_DATA (sig),
                                       TEST_LEN (sig), &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "envelope"));
  g_clear_error (&error);
  g_assert_false (chatd_domain_verify (key, "manifesT", fields, 2, TEST_DATA (sig),
                                       TEST_LEN (sig), &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* the same bytes split differently */
  g_assert_false (chatd_domain_verify (key, "manifest", shifted, 2, TEST_DATA (sig),
                                       TEST_LEN (sig), &error));
  g_clear_error (&error);
  g_assert_false (chatd_domain_verify (key, "manifest", joined, 1, TEST_DATA (sig),
                                       TEST_LEN (sig), &error));
  g_clear_error (&error);
  /* the raw fields were never signed without the prefix */
  g_assert_false (suite->verify (key, (const guint8 *) "abc", 3, TEST_DATA (sig),
                                 TEST_LEN (sig), &error));
  g_clear_error (&error);
  /* invalid purposes */
  g_assert_false (chatd_domain_sign (key, "", fields, 2, &sig, &error));
  g_clear_error (&error);
  g_assert_false (chatd_domain_sign (key, "has space", fields, 2, &sig, &error));
  g_clear_error (&error);
}

/* the exact bytes of the signed message (doc/protocol.md) */
static void
test_domain_message_layout (void)
{
  g_autoptr(GError) error = NULL;
  guint8 message[CHATD_DOMAIN_MESSAGE_MAX];
  ChatdSlice fields[] = { CHATD_SLICE ("abc", 3), CHATD_SLICE ("", 0) };
  /* SHA-256 (00000003 616263 00000000) */
  static const guint8 encoding[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0 };
  guint8 digest[32];
  gsize len = chatd_domain_message ("receipt", fields, 2, message, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, strlen ("chatd/1/receipt") + 1 + 32);
  g_assert_cmpmem (message, 16, "chatd/1/receipt\0", 16);
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, encoding, sizeof encoding);
  g_assert_cmpmem (message + 16, 32, digest, 32);
}

static void
test_domain_mac (void)
{
  g_autoptr(GError) error = NULL;
  guint8 key[32] = { 1 }, mac[32];
  ChatdSlice fields[] = { CHATD_SLICE ("n1", 2), CHATD_SLICE ("ts", 2) };

  g_assert_true (chatd_domain_mac (key, sizeof key, "challenge", fields, 2, mac, &error));
  g_assert_true (chatd_domain_mac_verify (key, sizeof key, "challenge", fields, 2, mac,
                                          sizeof mac, &error));
  g_assert_no_error (error);
  g_assert_false (chatd_domain_mac_verify (key, sizeof key, "manifest", fields, 2, mac,
                                           sizeof mac, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  mac[31] ^= 1;
  g_assert_false (chatd_domain_mac_verify (key, sizeof key, "challenge", fields, 2, mac,
                                           sizeof mac, &error));
  g_clear_error (&error);
  g_assert_false (chatd_domain_mac_verify (key, sizeof key, "challenge", fields, 2, mac, 16, &error));
}

static void
test_wrap_round_trip (gconstpointer data)
{
  const ChatdSuite *suite = data;
  g_autoptr(ChatdKey) key = kat_key (suite);
  g_autoptr(ChatdKey) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) wrapped = NULL, wrapped2 = NULL, pub1 = NULL, pub2 = NULL;
  ChatdKdfParams params;

  g_assert_true (chatd_password_wrap_key ("Alice", key, (const guint8 *) "Alice", 5,
                                          &test_params, &wrapped, &error));
  g_assert_no_error (error);
  /* fixed length whatever the suite */
  g_assert_cmpuint (TEST_LEN (wrapped), ==, CHATD_WRAP_BLOB_LEN);
  g_assert_true (chatd_password_wrapped_params (TEST_DATA (wrapped), TEST_LEN (wrapped),
                                                &params, &error));
  g_assert_cmpuint (params.memory_kib, ==, test_params.memory_kib);
  g_assert_true (chatd_password_unwrap_key ("Alice", suite, (const guint8 *) "Alice", 5,
                                            TEST_DATA (wrapped), TEST_LEN (wrapped), &back, &error));
  g_assert_no_error (error);
  pub1 = suite->export_public (key, NULL);
  pub2 = suite->export_public (back, NULL);
  g_assert_true (g_bytes_equal (pub1, pub2));
  /* a random salt and nonce each time */
  g_assert_true (chatd_password_wrap_key ("Alice", key, (const guint8 *) "Alice", 5,
                                          &test_params, &wrapped2, &error));
  g_assert_false (g_bytes_equal (wrapped, wrapped2));
}

static void
test_wrap_refusals (void)
{
  const ChatdSuite *suite = &chatd_suite_25519;
  g_autoptr(ChatdKey) key = kat_key (suite);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) wrapped = NULL;
  g_autofree guint8 *bad = NULL;
  ChatdSecret *out = NULL;
  ChatdKey *out_key = NULL;

  g_assert_true (chatd_password_wrap_key ("Alice", key, (const guint8 *) "Alice", 5,
                                          &test_params, &wrapped, &error));
  /* wrong password: a clean failure and no output */
  g_assert_false (chatd_password_unwrap ("Alice", "25519", (const guint8 *) "alice", 5,
                                         TEST_DATA (wrapped), TEST_LEN (wrapped), &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_null (out);
  g_clear_error (&error);
  g_assert_false (chatd_password_unwrap_key ("Alice", suite, (const guint8 *) "", 0,
                                             TEST_DATA (wrapped), TEST_LEN (wrapped), &out_key, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_null (out_key);
  g_clear_error (&error);
  /* another user or suite (associated data) */
  g_assert_false (chatd_password_unwrap ("Bob", "25519", (const guint8 *) "Alice", 5,
                                         TEST_DATA (wrapped), TEST_LEN (wrapped), &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_password_unwrap ("Alice", "rsa", (const guint8 *) "Alice", 5,
                                         TEST_DATA (wrapped), TEST_LEN (wrapped), &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* any flipped bit of the header, ciphertext or tag */
  bad = g_memdup2 (TEST_DATA (wrapped), TEST_LEN (wrapped));
  for (gsize i = 0; i < TEST_LEN (wrapped); i += 7)
    {
      bad[i] ^= 0x10;
      g_assert_false (chatd_password_unwrap ("Alice", "25519", (const guint8 *) "Alice", 5,
                                             bad, TEST_LEN (wrapped), &out, &error));
      g_assert_nonnull (error);
      g_assert_null (out);
      g_clear_error (&error);
      bad[i] ^= 0x10;
    }
  /* wrong length */
  g_assert_false (chatd_password_unwrap ("Alice", "25519", (const guint8 *) "Alice", 5,
                                         bad, TEST_LEN (wrapped) - 1, &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* parameters above the cap are refused before any work: m = 2^32-1 KiB */
  bad[9] = bad[10] = bad[11] = bad[12] = 0xff;
  g_assert_false (chatd_password_unwrap ("Alice", "25519", (const guint8 *) "Alice", 5,
                                         bad, TEST_LEN (wrapped), &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "cap"));
}

static void
test_fingerprint_text (void)
{
  g_autoptr(ChatdKey) key = kat_key (&chatd_suite_25519);
  g_autoptr(GError) error = NULL;
  guint8 fp[CHATD_FINGERPRINT_LEN], back[CHATD_FINGERPRINT_LEN];
  g_autofree char *text = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *upper = NULL;

  g_assert_true (chatd_key_fingerprint (key, fp, &error));
  text = chatd_fingerprint_to_string (fp);
  g_assert_cmpuint (strlen (text), ==, 79);
  g_assert_true (chatd_fingerprint_parse (text, back, &error));
  g_assert_cmpmem (fp, sizeof fp, back, sizeof back);
  plain = g_strdelimit (g_strdup (text), " ", ':');
  upper = g_ascii_strup (plain, -1);
  g_assert_true (chatd_fingerprint_parse (upper, back, &error));
  g_assert_cmpmem (fp, sizeof fp, back, sizeof back);
  g_assert_no_error (error);
  text[78] = '\0';   /* one digit short */
  g_assert_false (chatd_fingerprint_parse (text, back, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (chatd_fingerprint_parse ("zz", back, &error));
  g_clear_error (&error);
  {
    g_autofree char *longer = g_strconcat (upper, "0", NULL);
    g_assert_false (chatd_fingerprint_parse (longer, back, &error));
    g_clear_error (&error);
  }
}

static void
test_random (void)
{
  g_autoptr(ChatdSecret) a = chatd_secret_new_random (32);
  g_autoptr(ChatdSecret) b = chatd_secret_new_random (32);
  guint8 n1[12] = { 0 }, n2[12] = { 0 };

  g_assert_true (gcry_is_secure (a->data));
  g_assert_false (chatd_memequal_ct (a->data, b->data, 32));
  chatd_random_nonce (n1, sizeof n1);
  chatd_random_nonce (n2, sizeof n2);
  g_assert_false (chatd_memequal_ct (n1, n2, sizeof n1));
}

/* decoys for unknown names: same shape, stable per name, never open */
static void
test_wrap_decoy (void)
{
  static const guint8 server_secret[32] = { 9, 8, 7 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a1 = NULL, a2 = NULL, b = NULL, real = NULL;
  g_autoptr(ChatdKey) key = kat_key (&chatd_suite_25519);
  ChatdSecret *out = NULL;

  g_assert_true (chatd_password_wrap_decoy (server_secret, sizeof server_secret, "Mallory",
                                            &test_params, &a1, &error));
  g_assert_true (chatd_password_wrap_decoy (server_secret, sizeof server_secret, "Mallory",
                                            &test_params, &a2, &error));
  g_assert_true (chatd_password_wrap_decoy (server_secret, sizeof server_secret, "Trent",
                                            &test_params, &b, &error));
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (a1, a2));
  g_assert_false (g_bytes_equal (a1, b));
  g_assert_true (chatd_password_wrap_key ("Alice", key, (const guint8 *) "Alice", 5,
                                          &test_params, &real, &error));
  g_assert_cmpuint (TEST_LEN (a1), ==, TEST_LEN (real));
  g_assert_cmpmem (TEST_DATA (a1), 17, TEST_DATA (real), 17);   /* same header */
  g_assert_false (chatd_password_unwrap ("Mallory", "25519", (const guint8 *) "Mallory", 7,
                                         TEST_DATA (a1), TEST_LEN (a1), &out, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_null (out);
}

/* the default parameters (64 MiB, 3 passes), once */
static void
test_wrap_default_params (void)
{
  g_autoptr(ChatdKey) key = kat_key (&chatd_suite_rsa);
  g_autoptr(ChatdKey) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) wrapped = NULL;
  ChatdKdfParams params = CHATD_KDF_DEFAULT_PARAMS;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (chatd_password_wrap_key ("Bob", key, (const guint8 *) "Bob", 3, &params,
                                          &wrapped, &error));
  g_assert_no_error (error);
  g_test_message ("Argon2id 64 MiB t=3 wrap: %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_true (chatd_password_unwrap_key ("Bob", &chatd_suite_rsa, (const guint8 *) "Bob", 3,
                                            TEST_DATA (wrapped), TEST_LEN (wrapped), &back, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));

  g_test_add_data_func ("/crypto/domain/purpose/rsa", &chatd_suite_rsa, test_domain_purpose);
  g_test_add_data_func ("/crypto/domain/purpose/25519", &chatd_suite_25519, test_domain_purpose);
  g_test_add_func ("/crypto/domain/message-layout", test_domain_message_layout);
  g_test_add_func ("/crypto/domain/mac", test_domain_mac);
  g_test_add_data_func ("/crypto/wrap/round-trip/rsa", &chatd_suite_rsa, test_wrap_round_trip);
  g_test_add_data_func ("/crypto/wrap/round-trip/25519", &chatd_suite_25519, test_wrap_round_trip);
  g_test_add_func ("/crypto/wrap/refusals", test_wrap_refusals);
  g_test_add_func ("/crypto/wrap/default-params", test_wrap_default_params);
  g_test_add_func ("/crypto/wrap/decoy", test_wrap_decoy);
  g_test_add_func ("/crypto/fingerprint/text", test_fingerprint_text);
  g_test_add_func ("/crypto/random/secret-and-nonce", test_random);
  return g_test_run ();
}
