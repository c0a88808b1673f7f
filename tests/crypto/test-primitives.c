/* test-primitives.c: the crypto core's primitives against published
 * vectors, and its failure paths.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "hpke.h"
#include "x25519.h"
#include "test-util.h"

#include <gcrypt.h>

/* RFC 5869 A.1 and A.3 */
static void
test_hkdf_rfc5869 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ikm = test_hex ("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  g_autoptr(GBytes) salt = test_hex ("000102030405060708090a0b0c");
  g_autoptr(GBytes) info = test_hex ("f0f1f2f3f4f5f6f7f8f9");
  g_autoptr(GBytes) prk1 = test_hex ("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  g_autoptr(GBytes) okm1 = test_hex ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                                     "34007208d5b887185865");
  g_autoptr(GBytes) okm3 = test_hex ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                                     "9d201395faa4b61a96c8");
  guint8 prk[32], okm[42];
  ChatdSlice ikm_part = { TEST_DATA (ikm), TEST_LEN (ikm) };

  g_assert_true (chatd_hkdf_extract (TEST_DATA (salt), TEST_LEN (salt), &ikm_part, 1, prk, &error));
  g_assert_no_error (error);
  test_assert_bytes (prk, sizeof prk, prk1);
  g_assert_true (chatd_hkdf_sha256 (TEST_DATA (salt), TEST_LEN (salt), TEST_DATA (ikm),
                                    TEST_LEN (ikm), TEST_DATA (info), TEST_LEN (info),
                                    okm, sizeof okm, &error));
  test_assert_bytes (okm, sizeof okm, okm1);
  g_assert_true (chatd_hkdf_sha256 (NULL, 0, TEST_DATA (ikm), TEST_LEN (ikm), NULL, 0,
                                    okm, sizeof okm, &error));
  test_assert_bytes (okm, sizeof okm, okm3);

  /* more than 255 blocks is refused */
  {
    g_autofree guint8 *big = g_malloc (CHATD_HKDF_OUTPUT_MAX + 1);
    g_assert_false (chatd_hkdf_sha256 (NULL, 0, TEST_DATA (ikm), TEST_LEN (ikm), NULL, 0,
                                       big, CHATD_HKDF_OUTPUT_MAX + 1, &error));
    g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  }
}

typedef struct {
  const char *key, *iv, *aad, *pt, *ct;
} AeadVector;

/* The GCM specification's AES-256 test cases 13, 14 and 16 (McGrew and
 * Viega, as published with NIST's GCM documents); ct includes the tag. */
static const AeadVector gcm_vectors[] = {
  { "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
  { "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "00000000000000000000000000000000",
    "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919" },
  { "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void
check_aead_vector (ChatdAeadAlgorithm algorithm, const AeadVector *v)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key = test_hex (v->key), iv = test_hex (v->iv), aad = test_hex (v->aad);
  g_autoptr(GBytes) pt = test_hex (v->pt), ct = test_hex (v->ct);
  g_autofree guint8 *out = g_malloc (TEST_LEN (pt) + 16);
  g_autofree guint8 *back = g_malloc (TEST_LEN (pt) + 1);
  g_autofree guint8 *bad = g_memdup2 (TEST_DATA (ct), TEST_LEN (ct));

  g_assert_true (chatd_aead_encrypt (algorithm, TEST_DATA (key), TEST_DATA (iv),
                                     TEST_DATA (aad), TEST_LEN (aad), TEST_DATA (pt),
                                     TEST_LEN (pt), out, &error));
  g_assert_no_error (error);
  test_assert_bytes (out, TEST_LEN (pt) + 16, ct);
  g_assert_true (chatd_aead_decrypt (algorithm, TEST_DATA (key), TEST_DATA (iv),
                                     TEST_DATA (aad), TEST_LEN (aad), TEST_DATA (ct),
                                     TEST_LEN (ct), back, &error));
  test_assert_bytes (back, TEST_LEN (pt), pt);

  /* every single-bit flip of ciphertext or tag fails, leaving no plaintext */
  for (gsize bit = 0; bit < TEST_LEN (ct) * 8; bit++)
    {
      bad[bit / 8] ^= 1 << (bit % 8);
      memset (back, 0x55, TEST_LEN (pt) + 1);
      g_assert_false (chatd_aead_decrypt (algorithm, TEST_DATA (key), TEST_DATA (iv),
                                          TEST_DATA (aad), TEST_LEN (aad), bad,
                                          TEST_LEN (ct), back, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_clear_error (&error);
      for (gsize i = 0; i < TEST_LEN (pt); i++)
        g_assert_cmpuint (back[i], ==, 0);
      bad[bit / 8] ^= 1 << (bit % 8);
    }
}

static void
test_aead_gcm_nist (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gcm_vectors); i++)
    check_aead_vector (CHATD_AEAD_AES256_GCM, &gcm_vectors[i]);
}

/* RFC 8439 2.8.2 */
static void
test_aead_chacha_rfc8439 (void)
{
  static const AeadVector v = {
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e",
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116"
    "1ae10b594f09e26a7e902ecbd0600691",
  };
  check_aead_vector (CHATD_AEAD_CHACHA20_POLY1305, &v);
}

/* RFC 9106 5.3 (Argon2id, with secret and associated data) */
static void
test_argon2id_rfc9106 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) want = test_hex ("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
  ChatdKdfParams params = { 3, 32, 4 };
  guint8 password[32], salt[16], secret[8], ad[12], tag[32];

  memset (password, 0x01, sizeof password);
  memset (salt, 0x02, sizeof salt);
  memset (secret, 0x03, sizeof secret);
  memset (ad, 0x04, sizeof ad);
  g_assert_true (chatd_argon2id (&params, password, sizeof password, salt, sizeof salt,
                                 secret, sizeof secret, ad, sizeof ad, tag, sizeof tag, &error));
  g_assert_no_error (error);
  test_assert_bytes (tag, sizeof tag, want);
}

static void
test_kdf_params_cap (void)
{
  g_autoptr(GError) error = NULL;
  ChatdKdfParams ok = CHATD_KDF_DEFAULT_PARAMS;
  ChatdKdfParams too_much = { 3, CHATD_KDF_MAX_MEMORY_KIB + 1, 1 };
  ChatdKdfParams too_slow = { CHATD_KDF_MAX_TIME_COST + 1, 1024, 1 };
  ChatdKdfParams invalid = { 0, 1024, 1 };

  g_assert_cmpuint (ok.memory_kib, >=, 64 * 1024);
  g_assert_cmpuint (ok.time_cost, >=, 3);
  g_assert_true (chatd_kdf_params_check (&ok, &error));
  g_assert_false (chatd_kdf_params_check (&too_much, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_kdf_params_check (&too_slow, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_kdf_params_check (&invalid, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

static void
test_secret_and_compare (void)
{
  g_autoptr(ChatdSecret) secret = chatd_secret_new_from ("hunter2", 7);
  guint8 a[64], b[64];

  g_assert_true (gcry_is_secure (secret->data));
  g_assert_cmpmem (secret->data, secret->len, "hunter2", 7);
  chatd_secret_truncate (secret, 3);
  g_assert_cmpuint (secret->len, ==, 3);
  g_assert_cmpuint (secret->data[3], ==, 0);

  memset (a, 0xa5, sizeof a);
  memcpy (b, a, sizeof b);
  g_assert_true (chatd_memequal_ct (a, b, sizeof a));
  g_assert_true (chatd_memequal_ct (a, b, 0));
  for (gsize i = 0; i < sizeof a * 8; i++)
    {
      b[i / 8] ^= 1 << (i % 8);
      g_assert_false (chatd_memequal_ct (a, b, sizeof a));
      b[i / 8] ^= 1 << (i % 8);
    }
}

/* the secure pool grows beyond its initial size instead of failing */
static void
test_secret_pool_grows (void)
{
  ChatdSecret *secrets[64];

  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      secrets[i] = chatd_secret_new (16 * 1024);   /* 1 MiB in all */
      g_assert_true (gcry_is_secure (secrets[i]->data));
      secrets[i]->data[16 * 1024 - 1] = 1;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    chatd_secret_free (secrets[i]);
}

/* RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305,
 * base mode, first message (sequence number 0) */
static void
test_hpke_rfc9180 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) info = test_hex ("4f6465206f6e2061204772656369616e2055726e");
  g_autoptr(GBytes) skE = test_hex ("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600");
  g_autoptr(GBytes) pkR = test_hex ("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
  g_autoptr(GBytes) skR = test_hex ("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
  g_autoptr(GBytes) aad = test_hex ("436f756e742d30");
  g_autoptr(GBytes) pt = test_hex ("4265617574792069732074727574682c20747275746820626561757479");
  g_autoptr(GBytes) sealed = test_hex (
      "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"   /* enc */
      "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db"
      "21993c62ce81883d2dd1b51a28");
  g_autofree guint8 *out = g_malloc (TEST_LEN (sealed));
  g_autofree guint8 *back = g_malloc (TEST_LEN (pt));
  guint8 pk_check[32];

  g_assert_true (chatd_x25519 (TEST_DATA (skR), NULL, pk_check, &error));
  test_assert_bytes (pk_check, 32, pkR);
  g_assert_true (chatd_hpke_seal_base (TEST_DATA (pkR), TEST_DATA (skE), TEST_DATA (info),
                                       TEST_LEN (info), TEST_DATA (aad), TEST_LEN (aad),
                                       TEST_DATA (pt), TEST_LEN (pt), out, &error));
  g_assert_no_error (error);
  test_assert_bytes (out, TEST_LEN (sealed), sealed);
  g_assert_true (chatd_hpke_open_base (TEST_DATA (skR), TEST_DATA (pkR), TEST_DATA (info),
                                       TEST_LEN (info), TEST_DATA (aad), TEST_LEN (aad),
                                       TEST_DATA (sealed), TEST_LEN (sealed), back, &error));
  test_assert_bytes (back, TEST_LEN (pt), pt);
  /* another info does not open */
  g_assert_false (chatd_hpke_open_base (TEST_DATA (skR), TEST_DATA (pkR), NULL, 0,
                                        TEST_DATA (aad), TEST_LEN (aad),
                                        TEST_DATA (sealed), TEST_LEN (sealed), back, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
}

/* X25519 with a low-order public share is refused (RFC 7748 section 6.1's
 * all-zero check); the result buffer is untouched. */
static void
test_x25519_low_order (void)
{
  static const char *low_order[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",   /* 0 */
    "0100000000000000000000000000000000000000000000000000000000000000",   /* 1 */
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",   /* order 8 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   /* p - 1 */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   /* p */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   /* p + 1 */
  };
  guint8 scalar[32], out[32];

  gcry_randomize (scalar, sizeof scalar, GCRY_STRONG_RANDOM);
  for (gsize i = 0; i < G_N_ELEMENTS (low_order); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) point = test_hex (low_order[i]);

      memset (out, 0x77, sizeof out);
      g_assert_false (chatd_x25519 (scalar, TEST_DATA (point), out, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      for (gsize j = 0; j < sizeof out; j++)
        g_assert_cmpuint (out[j], ==, 0x77);
    }
}

static void
test_keyblob_envelope (void)
{
  static const guint8 body[3] = { 1, 2, 3 };
  guint8 blob[64];
  gsize len = 0, body_len = 0;
  const guint8 *got = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (chatd_keyblob_write ("test", CHATD_KEY_PUBLIC, body, sizeof body,
                                      blob, sizeof blob, &len, &error));
  g_assert_cmpuint (len, ==, CHATD_KEYBLOB_OVERHEAD (4) + 3);
  g_assert_true (chatd_keyblob_parse (blob, len, "test", CHATD_KEY_PUBLIC, &got, &body_len, &error));
  g_assert_cmpmem (got, body_len, body, sizeof body);

  /* every truncation is refused */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_assert_false (chatd_keyblob_parse (blob, cut, "test", CHATD_KEY_PUBLIC, &got, &body_len, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "truncated"));
      g_clear_error (&error);
    }
  /* a trailing byte */
  blob[len] = 0;
  g_assert_false (chatd_keyblob_parse (blob, len + 1, "test", CHATD_KEY_PUBLIC, &got, &body_len, &error));
  g_assert_nonnull (strstr (error->message, "oversized"));
  g_clear_error (&error);
  /* another suite, another kind */
  g_assert_false (chatd_keyblob_parse (blob, len, "other", CHATD_KEY_PUBLIC, &got, &body_len, &error));
  g_assert_nonnull (strstr (error->message, "for suite 'test'"));
  g_clear_error (&error);
  g_assert_false (chatd_keyblob_parse (blob, len, "test", CHATD_KEY_PRIVATE, &got, &body_len, &error));
  g_clear_error (&error);
  /* garbage */
  blob[0] ^= 0xff;
  g_assert_false (chatd_keyblob_parse (blob, len, "test", CHATD_KEY_PUBLIC, &got, &body_len, &error));
  g_assert_nonnull (strstr (error->message, "magic"));
}

/* A context keyed once gives what the one-shot functions give, packet
 * after packet, for both algorithms; set_key really replaces the key; a bad
 * tag is refused and leaves no plaintext. */
static void
test_aead_context (void)
{
  static const ChatdAeadAlgorithm algorithms[] = { CHATD_AEAD_AES256_GCM, CHATD_AEAD_CHACHA20_POLY1305 };
  guint8 key[CHATD_AEAD_KEY_LEN], key2[CHATD_AEAD_KEY_LEN], nonce[CHATD_AEAD_NONCE_LEN] = { 0 };
  guint8 plain[100], aad[18], one_shot[sizeof plain + CHATD_AEAD_TAG_LEN];
  guint8 via_context[sizeof one_shot], opened[sizeof plain];
  chatd_random_nonce (key, sizeof key);
  chatd_random_nonce (key2, sizeof key2);
  for (guint a = 0; a < G_N_ELEMENTS (algorithms); a++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChatdAeadContext) seal = chatd_aead_context_new (algorithms[a], key, &error);
      g_autoptr(ChatdAeadContext) open = chatd_aead_context_new (algorithms[a], key2, &error);
      g_assert_no_error (error);
      g_assert_true (chatd_aead_context_set_key (open, key, &error));
      for (guint pn = 0; pn < 50; pn++)
        {
          nonce[11] = (guint8) pn;
          memset (plain, (int) pn, sizeof plain);
          memset (aad, (int) (pn * 3), sizeof aad);
          g_assert_true (chatd_aead_encrypt (algorithms[a], key, nonce, aad, sizeof aad, plain, sizeof plain,
                                             one_shot, &error));
          g_assert_true (chatd_aead_context_encrypt (seal, nonce, aad, sizeof aad, plain, sizeof plain,
                                                     via_context, &error));
          g_assert_cmpmem (one_shot, sizeof one_shot, via_context, sizeof via_context);
          g_assert_true (chatd_aead_context_decrypt (open, nonce, aad, sizeof aad, via_context,
                                                     sizeof via_context, opened, &error));
          g_assert_cmpmem (opened, sizeof opened, plain, sizeof plain);
          via_context[pn % sizeof via_context] ^= 1;
          g_assert_false (chatd_aead_context_decrypt (open, nonce, aad, sizeof aad, via_context,
                                                      sizeof via_context, opened, &error));
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
          g_clear_error (&error);
          for (gsize i = 0; i < sizeof opened; i++)
            g_assert_cmpint (opened[i], ==, 0);
        }
      /* a re-keyed context no longer opens what the old key sealed */
      g_assert_true (chatd_aead_context_encrypt (seal, nonce, NULL, 0, plain, sizeof plain, via_context, &error));
      g_assert_true (chatd_aead_context_set_key (open, key2, &error));
      g_assert_false (chatd_aead_context_decrypt (open, nonce, NULL, 0, via_context, sizeof via_context, opened,
                                                  NULL));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));

  g_test_add_func ("/crypto/hkdf/rfc5869", test_hkdf_rfc5869);
  g_test_add_func ("/crypto/aead/aes256-gcm-nist", test_aead_gcm_nist);
  g_test_add_func ("/crypto/aead/chacha20-poly1305-rfc8439", test_aead_chacha_rfc8439);
  g_test_add_func ("/crypto/aead/context", test_aead_context);
  g_test_add_func ("/crypto/argon2id/rfc9106", test_argon2id_rfc9106);
  g_test_add_func ("/crypto/argon2id/params-cap", test_kdf_params_cap);
  g_test_add_func ("/crypto/secret/secure-and-constant-time", test_secret_and_compare);
  g_test_add_func ("/crypto/secret/pool-grows", test_secret_pool_grows);
  g_test_add_func ("/crypto/hpke/rfc9180-a2", test_hpke_rfc9180);
  g_test_add_func ("/crypto/x25519/low-order-refused", test_x25519_low_order);
  g_test_add_func ("/crypto/keyblob/envelope", test_keyblob_envelope);
  return g_test_run ();
}
