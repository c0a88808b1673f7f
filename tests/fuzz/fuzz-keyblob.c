/* fuzz-keyblob.c: key blobs of both suites and wrapped-key headers.
 *
 * Feeds the input to import_public and import_private of "rsa" and "25519"
 * and to chatd_password_wrapped_params.  Whatever imports must export back
 * to exactly the input (the encodings are canonical), and a malformed blob
 * must come back as an error, never a crash.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_suite (const ChatdSuite *suite, const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) public_key = suite->import_public (suite, data, size, &error);
  g_autoptr(ChatdKey) private_key = NULL;

  if (public_key != NULL)
    {
      g_autoptr(GBytes) blob = suite->export_public (public_key, NULL);
      g_assert_nonnull (blob);
      g_assert_cmpmem (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), data, size);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->message[0] != '\0');
    }
  g_clear_error (&error);

  private_key = suite->import_private (suite, data, size, &error);
  if (private_key != NULL)
    {
      g_autoptr(ChatdSecret) out = chatd_secret_new (suite->private_blob_max);
      gsize len = 0;

      g_assert_true (suite->export_private (private_key, out->data, out->len, &len, NULL));
      g_assert_cmpmem (out->data, len, data, size);
    }
  else
    g_assert_nonnull (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ChatdKdfParams params;

  if (!chatd_crypto_init (NULL))   /* idempotent */
    return 0;
  check_suite (&chatd_suite_rsa, data, size);
  check_suite (&chatd_suite_25519, data, size);
  if (chatd_password_wrapped_params (data, size, &params, NULL))
    g_assert_cmpuint (size, ==, CHATD_WRAP_BLOB_LEN);
  return 0;
}
