/* test-suites.c: both suites through the ChatdSuite interface: known-answer
 * vectors, round trips, tampering, foreign keys and malformed key blobs.
 *
 * One key per suite is made in main() and shared by all cases (an RSA-2048
 * key: the tests are not about key size).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "hpke.h"
#include "suite-25519.h"
#include "suite-rsa.h"
#include "rsa-kat-inputs.h"
#include "test-util.h"

#include <gcrypt.h>

typedef struct {
  const ChatdSuite *suite;
  ChatdKey         *key;         /* private */
  ChatdKey         *public_key;
  GBytes           *public_blob;
} SuiteCase;

static SuiteCase rsa_case = { &chatd_suite_rsa, NULL, NULL, NULL };
static SuiteCase ed_case = { &chatd_suite_25519, NULL, NULL, NULL };

static void
setup_case (SuiteCase *c, guint bits)
{
  g_autoptr(GError) error = NULL;

  c->key = c->suite->generate (c->suite, bits, &error);
  g_assert_no_error (error);
  c->public_blob = c->suite->export_public (c->key, &error);
  g_assert_no_error (error);
  c->public_key = c->suite->import_public (c->suite, TEST_DATA (c->public_blob),
                                           TEST_LEN (c->public_blob), &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->public_key->kind, ==, CHATD_KEY_PUBLIC);
}

static void
test_kats (gconstpointer data)
{
  const SuiteCase *c = data;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  double ms;

  g_assert_true (chatd_suite_check (c->suite, &error));
  g_assert_no_error (error);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("suite '%s': known-answer vectors in %.2f ms", c->suite->name, ms);
  /* they run at registration: well under 100 ms (generous bound for
   * loaded CI machines and sanitizers) */
  g_assert_cmpfloat (ms, <, 500.0);
}

/* a descriptor with a damaged vector is refused, with the vector named */
static void
test_kat_damaged (gconstpointer data)
{
  const SuiteCase *c = data;
  g_autoptr(GError) error = NULL;
  ChatdSuite copy = *c->suite;
  g_autofree ChatdSuiteKat *kats = g_memdup2 (c->suite->kats, c->suite->n_kats * sizeof *kats);

  for (gsize i = 0; i < c->suite->n_kats; i++)
    {
      g_autofree guint8 *output = g_memdup2 (kats[i].output.data, kats[i].output.len);

      output[0] ^= 0x80;
      kats[i].output.data = output;
      copy.kats = kats;
      g_assert_false (chatd_suite_check (&copy, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_assert_nonnull (strstr (error->message, kats[i].name));
      g_clear_error (&error);
      kats[i].output.data = c->suite->kats[i].output.data;
    }
  /* a capability without a vector */
  copy.kats = c->suite->kats;
  copy.n_kats = 0;
  g_assert_false (chatd_suite_check (&copy, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* a missing function */
  copy = *c->suite;
  copy.verify = NULL;
  g_assert_false (chatd_suite_check (&copy, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  copy = *c->suite;
  copy.name = "Bad Name";
  g_assert_false (chatd_suite_check (&copy, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

static void
test_round_trip (gconstpointer data)
{
  const SuiteCase *c = data;
  const ChatdSuite *s = c->suite;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdSecret) private_blob = chatd_secret_new (s->private_blob_max);
  g_autoptr(ChatdKey) reimported = NULL;
  g_autoptr(GBytes) blob2 = NULL;
  guint8 fp1[CHATD_FINGERPRINT_LEN], fp2[CHATD_FINGERPRINT_LEN];
  g_autofree char *fp_text = NULL;
  gsize private_len = 0;
  static const gsize sizes[] = { 0, 1, 100, 65536 };

  /* private blob round trip gives the same public key */
  g_assert_true (s->export_private (c->key, private_blob->data, private_blob->len,
                                    &private_len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (private_len, <=, s->private_blob_max);
  g_assert_cmpuint (private_len, <=, CHATD_WRAP_PRIVATE_MAX);
  reimported = s->import_private (s, private_blob->data, private_len, &error);
  g_assert_no_error (error);
  blob2 = s->export_public (reimported, &error);
  g_assert_true (g_bytes_equal (blob2, c->public_blob));
  g_assert_true (chatd_key_fingerprint (c->key, fp1, &error));
  g_assert_true (chatd_key_fingerprint (c->public_key, fp2, &error));
  g_assert_cmpmem (fp1, sizeof fp1, fp2, sizeof fp2);
  fp_text = chatd_fingerprint_to_string (fp1);
  g_assert_cmpuint (strlen (fp_text), ==, 79);
  g_test_message ("%s public key: %" G_GSIZE_FORMAT " bytes, private %" G_GSIZE_FORMAT
                  ", fingerprint %s", s->name, TEST_LEN (c->public_blob), private_len, fp_text);

  /* a public key cannot sign, open or export a private blob */
  g_assert_null (s->sign (c->public_key, (const guint8 *) "m", 1, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (s->export_private (c->public_key, private_blob->data, private_blob->len,
                                     &private_len, &error));
  g_clear_error (&error);

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *msg = g_malloc (sizes[i] + 1);
      g_autoptr(GBytes) sig = NULL, sealed = NULL, opened = NULL, wrong = NULL;
      static const char aad[] = "sender|recipient|id";

      gcry_create_nonce (msg, sizes[i] + 1);
      sig = s->sign (c->key, msg, MIN (sizes[i], CHATD_SIGN_MESSAGE_MAX), &error);
      g_assert_no_error (error);
      g_assert_true (s->verify (c->public_key, msg, MIN (sizes[i], CHATD_SIGN_MESSAGE_MAX),
                                TEST_DATA (sig), TEST_LEN (sig), &error));
      g_assert_no_error (error);
      if (sizes[i] > CHATD_SIGN_MESSAGE_MAX)
        {
          g_autoptr(GBytes) too_long = s->sign (c->key, msg, sizes[i], &error);
          g_assert_null (too_long);
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
          g_clear_error (&error);
          g_assert_false (s->verify (c->public_key, msg, sizes[i], TEST_DATA (sig),
                                     TEST_LEN (sig), &error));
          g_clear_error (&error);
        }

      sealed = s->seal (c->public_key, (const guint8 *) aad, strlen (aad), msg, sizes[i], &error);
      g_assert_no_error (error);
      opened = s->open (c->key, (const guint8 *) aad, strlen (aad),
                        TEST_DATA (sealed), TEST_LEN (sealed), &error);
      g_assert_no_error (error);
      g_assert_cmpmem (TEST_DATA (opened), TEST_LEN (opened), msg, sizes[i]);
      /* other associated data */
      wrong = s->open (c->key, (const guint8 *) aad, strlen (aad) - 1,
                       TEST_DATA (sealed), TEST_LEN (sealed), &error);
      g_assert_null (wrong);
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_clear_error (&error);
    }
}

static void
test_tamper_sealed_and_aad (gconstpointer data)
{
  const SuiteCase *c = data;
  const ChatdSuite *s = c->suite;
  g_autoptr(GError) error = NULL;
  guint8 aad[16] = "recipient|msgid";
  static const char msg[] = "sixteen byte msg";
  g_autoptr(GBytes) sealed = s->seal (c->public_key, aad, sizeof aad, (const guint8 *) msg,
                                      strlen (msg), &error);
  g_autofree guint8 *bad = g_memdup2 (TEST_DATA (sealed), TEST_LEN (sealed));

  g_assert_no_error (error);
  for (gsize bit = 0; bit < TEST_LEN (sealed) * 8; bit++)
    {
      g_autoptr(GBytes) opened = NULL;

      bad[bit / 8] ^= 1 << (bit % 8);
      opened = s->open (c->key, aad, sizeof aad, bad, TEST_LEN (sealed), &error);
      g_assert_null (opened);
      g_assert_nonnull (error);
      g_clear_error (&error);
      bad[bit / 8] ^= 1 << (bit % 8);
    }
  for (gsize bit = 0; bit < sizeof aad * 8; bit++)
    {
      g_autoptr(GBytes) opened = NULL;

      aad[bit / 8] ^= 1 << (bit % 8);
      opened = s->open (c->key, aad, sizeof aad, TEST_DATA (sealed), TEST_LEN (sealed), &error);
      g_assert_null (opened);
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_clear_error (&error);
      aad[bit / 8] ^= 1 << (bit % 8);
    }
  /* truncated and extended */
  g_assert_null (s->open (c->key, aad, sizeof aad, TEST_DATA (sealed), TEST_LEN (sealed) - 1, &error));
  g_clear_error (&error);
  g_assert_null (s->open (c->key, aad, sizeof aad, TEST_DATA (sealed), 10, &error));
  g_clear_error (&error);
}

static void
test_tamper_signature (gconstpointer data)
{
  const SuiteCase *c = data;
  const ChatdSuite *s = c->suite;
  g_autoptr(GError) error = NULL;
  static const char msg[] = "the message";
  g_autoptr(GBytes) sig = s->sign (c->key, (const guint8 *) msg, strlen (msg), &error);
  g_autofree guint8 *bad = g_malloc (TEST_LEN (sig) + 1);

  g_assert_no_error (error);
  memcpy (bad, TEST_DATA (sig), TEST_LEN (sig));
  for (gsize bit = 0; bit < TEST_LEN (sig) * 8; bit++)
    {
      bad[bit / 8] ^= 1 << (bit % 8);
      g_assert_false (s->verify (c->public_key, (const guint8 *) msg, strlen (msg), bad,
                                 TEST_LEN (sig), &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_clear_error (&error);
      bad[bit / 8] ^= 1 << (bit % 8);
    }
  g_assert_false (s->verify (c->public_key, (const guint8 *) msg, strlen (msg), bad,
                             TEST_LEN (sig) - 1, &error));
  g_clear_error (&error);
  bad[TEST_LEN (sig)] = 0;
  g_assert_false (s->verify (c->public_key, (const guint8 *) msg, strlen (msg), bad,
                             TEST_LEN (sig) + 1, &error));
  g_clear_error (&error);
  /* the message itself */
  g_assert_false (s->verify (c->public_key, (const guint8 *) "the messagf", strlen (msg),
                             TEST_DATA (sig), TEST_LEN (sig), &error));
  g_clear_error (&error);
}

/* every single-bit flip of the public key blob: the blob is refused, or the
 * signature no longer verifies and a message sealed to it does not open */
static void
test_tamper_public_key (gconstpointer data)
{
  const SuiteCase *c = data;
  const ChatdSuite *s = c->suite;
  g_autoptr(GError) error = NULL;
  static const char msg[] = "the message";
  g_autoptr(GBytes) sig = s->sign (c->key, (const guint8 *) msg, strlen (msg), &error);
  g_autofree guint8 *bad = g_memdup2 (TEST_DATA (c->public_blob), TEST_LEN (c->public_blob));
  guint refused_at_import = 0;

  for (gsize bit = 0; bit < TEST_LEN (c->public_blob) * 8; bit++)
    {
      g_autoptr(ChatdKey) key = NULL;

      bad[bit / 8] ^= 1 << (bit % 8);
      key = s->import_public (s, bad, TEST_LEN (c->public_blob), &error);
      if (key == NULL)
        {
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
          g_clear_error (&error);
          refused_at_import++;
        }
      else
        {
          g_autoptr(GBytes) sealed = NULL, opened = NULL;

          g_assert_false (s->verify (key, (const guint8 *) msg, strlen (msg),
                                     TEST_DATA (sig), TEST_LEN (sig), &error));
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
          g_clear_error (&error);
          sealed = s->seal (key, NULL, 0, (const guint8 *) msg, strlen (msg), NULL);
          if (sealed != NULL)
            {
              opened = s->open (c->key, NULL, 0, TEST_DATA (sealed), TEST_LEN (sealed), &error);
              g_assert_null (opened);
              g_clear_error (&error);
            }
        }
      bad[bit / 8] ^= 1 << (bit % 8);
    }
  g_test_message ("%s: %u of %" G_GSIZE_FORMAT " flipped public keys refused at import",
                  s->name, refused_at_import, TEST_LEN (c->public_blob) * 8);
}

/* a key of one suite given to the other is refused */
static void
test_foreign_key (void)
{
  g_autoptr(GError) error = NULL;
  const ChatdSuite *rsa = &chatd_suite_rsa, *ed = &chatd_suite_25519;
  g_autoptr(ChatdSecret) out = chatd_secret_new (CHATD_KEY_BLOB_MAX);
  gsize len;

  g_assert_null (ed->sign (rsa_case.key, (const guint8 *) "m", 1, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "suite 'rsa' given to suite '25519'"));
  g_clear_error (&error);
  g_assert_null (rsa->sign (ed_case.key, (const guint8 *) "m", 1, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ed->verify (rsa_case.public_key, (const guint8 *) "m", 1,
                              (const guint8 *) "0123456789012345678901234567890123456789012345678901234567890123",
                              64, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (rsa->seal (ed_case.public_key, NULL, 0, (const guint8 *) "m", 1, &error));
  g_clear_error (&error);
  g_assert_null (ed->open (rsa_case.key, NULL, 0, (const guint8 *) "m", 1, &error));
  g_clear_error (&error);
  g_assert_false (rsa->export_private (ed_case.key, out->data, out->len, &len, &error));
  g_clear_error (&error);

  /* blobs of one suite given to the other */
  g_assert_null (ed->import_public (ed, TEST_DATA (rsa_case.public_blob),
                                    TEST_LEN (rsa_case.public_blob), &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "for suite 'rsa', not '25519'"));
  g_clear_error (&error);
  g_assert_null (rsa->import_public (rsa, TEST_DATA (ed_case.public_blob),
                                     TEST_LEN (ed_case.public_blob), &error));
  g_assert_nonnull (strstr (error->message, "for suite '25519', not 'rsa'"));
  g_clear_error (&error);
  g_assert_null (rsa->import_private (rsa, chatd_suite_25519_kat_private,
                                      sizeof chatd_suite_25519_kat_private, &error));
  g_clear_error (&error);
  g_assert_null (ed->import_private (ed, chatd_suite_rsa_kat_private,
                                     chatd_suite_rsa_kat_private_len, &error));
  g_clear_error (&error);
  /* a private blob where a public one is expected */
  g_assert_null (ed->import_public (ed, chatd_suite_25519_kat_private,
                                    sizeof chatd_suite_25519_kat_private, &error));
  g_assert_nonnull (strstr (error->message, "private key where a public key"));
}

/* truncated, oversized and garbage key blobs are refused with a clear error */
static void
test_bad_blobs (gconstpointer data)
{
  const SuiteCase *c = data;
  const ChatdSuite *s = c->suite;
  g_autoptr(GError) error = NULL;
  gsize len = TEST_LEN (c->public_blob);
  g_autofree guint8 *buf = g_malloc0 (CHATD_KEY_BLOB_MAX + 16);
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);

  memcpy (buf, TEST_DATA (c->public_blob), len);
  for (gsize cut = 0; cut < len; cut++)
    {
      g_assert_null (s->import_public (s, buf, cut, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "truncated"));
      g_clear_error (&error);
    }
  g_assert_null (s->import_public (s, buf, len + 1, &error));
  g_assert_nonnull (strstr (error->message, "oversized"));
  g_clear_error (&error);
  g_assert_null (s->import_public (s, buf, CHATD_KEY_BLOB_MAX + 16, &error));
  g_assert_nonnull (strstr (error->message, "oversized"));
  g_clear_error (&error);

  /* the private KAT blob, truncated at every length */
  {
    const ChatdKatBytes *priv = &s->kats[0].key;
    for (gsize cut = 0; cut < priv->len; cut += 1 + cut / 64)
      {
        g_assert_null (s->import_private (s, priv->data, cut, &error));
        g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
        g_clear_error (&error);
      }
  }

  /* garbage: random bytes, and a valid envelope around a random body */
  for (guint round = 0; round < 200; round++)
    {
      gsize n = g_rand_int_range (rand, 0, 600);
      g_autoptr(ChatdKey) k1 = NULL, k2 = NULL;

      for (gsize i = 0; i < n; i++)
        buf[i] = g_rand_int (rand);
      k1 = s->import_public (s, buf, n, &error);
      g_assert_null (k1);
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      if (chatd_keyblob_write (s->name, round % 2 ? CHATD_KEY_PRIVATE : CHATD_KEY_PUBLIC,
                               buf + 1000, n, buf, 1000, &len, NULL))
        {
          k2 = round % 2 ? s->import_private (s, buf, len, &error)
                         : s->import_public (s, buf, len, &error);
          g_assert_null (k2);
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
          g_clear_error (&error);
        }
    }
}

/* libgcrypt 1.10.1 aborts in gcry_pk_verify on an Ed25519 point with a short
 * coordinate (found by fuzz-keyblob): such a public key is refused cleanly */
static void
test_short_point_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ed_pub = test_hex ("d75a980182b10ab7d54bfed3c9640000000000000000000000000000000000");
  guint8 body[CHATD_SUITE_25519_PUBLIC_BODY] = { 0 };
  guint8 blob[256];
  gsize len = 0;
  g_autoptr(ChatdKey) key = NULL;

  memcpy (body, TEST_DATA (ed_pub), 32);
  body[64] = 1;   /* some "signature" */
  g_assert_true (chatd_keyblob_write ("25519", CHATD_KEY_PUBLIC, body, sizeof body,
                                      blob, sizeof blob, &len, &error));
  key = chatd_suite_25519.import_public (&chatd_suite_25519, blob, len, &error);
  g_assert_null (key);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

/* the checked-in vectors are what the deterministic code makes */
static void
test_kat_recompute_rsa (void)
{
  g_autoptr(GError) error = NULL;
  const ChatdSuite *s = &chatd_suite_rsa;
  g_autoptr(ChatdKey) key = s->import_private (s, chatd_suite_rsa_kat_private,
                                               chatd_suite_rsa_kat_private_len, &error);
  guint8 salt[CHATD_SUITE_RSA_PSS_SALT_LEN], seed[CHATD_SUITE_RSA_OAEP_SEED_LEN];
  guint8 key_nonce[CHATD_SUITE_RSA_WRAPPED_LEN];
  g_autoptr(GBytes) sig = NULL, sealed = NULL;

  g_assert_no_error (error);
  rsa_kat_fill (salt, sizeof salt, 0x01);
  rsa_kat_fill (seed, sizeof seed, 0x41);
  rsa_kat_fill (key_nonce, sizeof key_nonce, 0x81);
  sig = chatd_suite_rsa_sign_with_salt (key, (const guint8 *) RSA_KAT_MESSAGE,
                                        strlen (RSA_KAT_MESSAGE), salt, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (TEST_DATA (sig), TEST_LEN (sig), s->kats[0].output.data, s->kats[0].output.len);
  sealed = chatd_suite_rsa_seal_with (key, (const guint8 *) RSA_KAT_AAD, strlen (RSA_KAT_AAD),
                                      (const guint8 *) RSA_KAT_PLAINTEXT,
                                      strlen (RSA_KAT_PLAINTEXT), seed, key_nonce, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (TEST_DATA (sealed), TEST_LEN (sealed), s->kats[1].input.data, s->kats[1].input.len);
  /* 3072 is the default and 2048 accepted; other sizes are not */
  g_assert_null (s->generate (s, 1024, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

static void
test_kat_recompute_25519 (void)
{
  g_autoptr(GError) error = NULL;
  const ChatdSuiteKat *open_kat = &chatd_suite_25519_kats[CHATD_SUITE_25519_N_KATS - 1];
  g_autoptr(GBytes) skE = test_hex ("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600");
  g_autoptr(GBytes) alice_public = test_hex ("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  g_autofree guint8 *out = g_malloc (open_kat->input.len);

  g_assert_cmpint (open_kat->kind, ==, CHATD_KAT_OPEN);
  g_assert_true (chatd_hpke_seal_base (TEST_DATA (alice_public), TEST_DATA (skE),
                                       (const guint8 *) CHATD_SUITE_25519_SEAL_INFO,
                                       strlen (CHATD_SUITE_25519_SEAL_INFO),
                                       open_kat->aad.data, open_kat->aad.len,
                                       open_kat->output.data, open_kat->output.len, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, open_kat->input.len, open_kat->input.data, open_kat->input.len);
}

/* channels: key exchange and AEAD through the suite */
static void
test_key_exchange_and_aead (void)
{
  const ChatdSuite *s = &chatd_suite_25519;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdSecret) a = chatd_secret_new (s->kx_secret_len);
  g_autoptr(ChatdSecret) b = chatd_secret_new (s->kx_secret_len);
  g_autoptr(ChatdSecret) ab = chatd_secret_new (s->kx_shared_len);
  g_autoptr(ChatdSecret) ba = chatd_secret_new (s->kx_shared_len);
  guint8 pa[64], pb[64], zero[32] = { 0 }, nonce[12] = { 0 };
  guint8 ct[5 + 16], pt[5];

  gcry_randomize (a->data, a->len, GCRY_STRONG_RANDOM);
  gcry_randomize (b->data, b->len, GCRY_STRONG_RANDOM);
  g_assert_true (s->kx_public (a->data, pa, &error));
  g_assert_true (s->kx_public (b->data, pb, &error));
  g_assert_true (s->kx_shared (a->data, pb, s->kx_public_len, ab->data, &error));
  g_assert_true (s->kx_shared (b->data, pa, s->kx_public_len, ba->data, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (ab->data, ab->len, ba->data, ba->len);
  /* low-order share, wrong length */
  g_assert_false (s->kx_shared (a->data, zero, 32, ab->data, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (s->kx_shared (a->data, pb, 31, ab->data, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (s->aead_seal (ab->data, nonce, (const guint8 *) "ad", 2,
                               (const guint8 *) "hello", 5, ct, &error));
  g_assert_true (s->aead_open (ba->data, nonce, (const guint8 *) "ad", 2, ct, sizeof ct, pt, &error));
  g_assert_cmpmem (pt, 5, "hello", 5);
  nonce[0] = 1;
  g_assert_false (s->aead_open (ba->data, nonce, (const guint8 *) "ad", 2, ct, sizeof ct, pt, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  setup_case (&rsa_case, 2048);
  setup_case (&ed_case, 0);

  g_test_add_data_func ("/crypto/suite/rsa/kats", &rsa_case, test_kats);
  g_test_add_data_func ("/crypto/suite/25519/kats", &ed_case, test_kats);
  g_test_add_data_func ("/crypto/suite/rsa/kat-damaged-refused", &rsa_case, test_kat_damaged);
  g_test_add_data_func ("/crypto/suite/25519/kat-damaged-refused", &ed_case, test_kat_damaged);
  g_test_add_func ("/crypto/suite/rsa/kat-recompute", test_kat_recompute_rsa);
  g_test_add_func ("/crypto/suite/25519/kat-recompute", test_kat_recompute_25519);
  g_test_add_data_func ("/crypto/suite/rsa/round-trip", &rsa_case, test_round_trip);
  g_test_add_data_func ("/crypto/suite/25519/round-trip", &ed_case, test_round_trip);
  g_test_add_data_func ("/crypto/suite/rsa/tamper-sealed-and-aad", &rsa_case, test_tamper_sealed_and_aad);
  g_test_add_data_func ("/crypto/suite/25519/tamper-sealed-and-aad", &ed_case, test_tamper_sealed_and_aad);
  g_test_add_data_func ("/crypto/suite/rsa/tamper-signature", &rsa_case, test_tamper_signature);
  g_test_add_data_func ("/crypto/suite/25519/tamper-signature", &ed_case, test_tamper_signature);
  g_test_add_data_func ("/crypto/suite/rsa/tamper-public-key", &rsa_case, test_tamper_public_key);
  g_test_add_data_func ("/crypto/suite/25519/tamper-public-key", &ed_case, test_tamper_public_key);
  g_test_add_data_func ("/crypto/suite/rsa/bad-blobs", &rsa_case, test_bad_blobs);
  g_test_add_data_func ("/crypto/suite/25519/bad-blobs", &ed_case, test_bad_blobs);
  g_test_add_func ("/crypto/suite/foreign-key-refused", test_foreign_key);
  g_test_add_func ("/crypto/suite/25519/short-point-refused", test_short_point_refused);
  g_test_add_func ("/crypto/suite/25519/key-exchange-and-aead", test_key_exchange_and_aead);
  return g_test_run ();
}
