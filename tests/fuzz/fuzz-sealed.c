/* fuzz-sealed.c: sealed messages and signatures of both suites.
 *
 * Opens the input as a sealed message with each suite's known-answer key
 * (and associated data), verifies it as a signature of each suite's signing
 * vector, and for "25519" uses it as an X25519 peer share and as a
 * ChaCha20-Poly1305 ciphertext.  Anything but a clean refusal or a correct
 * answer is a bug.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const ChatdSuiteKat *
find_kat (const ChatdSuite *suite, ChatdKatKind kind)
{
  for (gsize i = 0; i < suite->n_kats; i++)
    if (suite->kats[i].kind == kind)
      return &suite->kats[i];
  g_assert_not_reached ();
}

/* the keys are imported once per process (harness state, not library state) */
static ChatdKey *
kat_key (const ChatdSuite *suite, ChatdKatKind kind, ChatdKey **cache)
{
  if (*cache == NULL)
    {
      const ChatdSuiteKat *kat = find_kat (suite, kind);
      *cache = suite->import_private (suite, kat->key.data, kat->key.len, NULL);
      g_assert_nonnull (*cache);
    }
  return *cache;
}

static void
check_suite (const ChatdSuite *suite, ChatdKey *key, ChatdKey *sign_key,
             const uint8_t *data, size_t size)
{
  const ChatdSuiteKat *open_kat = find_kat (suite, CHATD_KAT_OPEN);
  const ChatdSuiteKat *sign_kat = find_kat (suite, CHATD_KAT_SIGN);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) opened = NULL;

  opened = suite->open (key, open_kat->aad.data, open_kat->aad.len, data, size, &error);
  if (opened == NULL)
    g_assert_nonnull (error);
  else if (size == open_kat->input.len && memcmp (data, open_kat->input.data, size) == 0)
    g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened),
                     open_kat->output.data, open_kat->output.len);
  g_clear_error (&error);

  if (suite->verify (sign_key, sign_kat->input.data, sign_kat->input.len, data, size, &error))
    g_assert_cmpmem (data, size, sign_kat->output.data, sign_kat->output.len);
  else
    g_assert_nonnull (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static ChatdKey *rsa_key, *rsa_sign_key, *ed_key, *ed_sign_key;
  const ChatdSuite *ed = &chatd_suite_25519;
  guint8 secret[32] = { 7 }, shared[32], key[32] = { 1 }, nonce[12] = { 2 };
  g_autofree guint8 *plaintext = g_malloc (size + 1);

  if (!chatd_crypto_init (NULL))
    return 0;
  check_suite (&chatd_suite_rsa, kat_key (&chatd_suite_rsa, CHATD_KAT_OPEN, &rsa_key),
               kat_key (&chatd_suite_rsa, CHATD_KAT_SIGN, &rsa_sign_key), data, size);
  check_suite (ed, kat_key (ed, CHATD_KAT_OPEN, &ed_key),
               kat_key (ed, CHATD_KAT_SIGN, &ed_sign_key), data, size);
  if (!ed->kx_shared (secret, data, size, shared, NULL))
    memset (shared, 0, sizeof shared);
  if (size >= ed->aead_tag_len)
    (void) ed->aead_open (key, nonce, NULL, 0, data, size, plaintext, NULL);
  return 0;
}
