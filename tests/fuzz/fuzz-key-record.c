/* fuzz-key-record.c: signed key records (daemon/server/key-record.c).
 *
 * Whatever decodes must encode back to exactly the input (the layout is
 * canonical); a malformed record must come back as an error, never a crash;
 * verification with a fixed server key (the suite's known-answer key, which
 * signed the seed corpus: gen-key-record-corpus.c) must agree with decoding.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "key-record.h"
#include "suite-25519.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_autoptr(GBytes) signature = NULL;

  if (!chatd_crypto_init (NULL))   /* idempotent */
    return 0;
  if (chatd_key_record_decode (data, size, &record, &signature, &error))
    {
      g_autoptr(GBytes) encoded = NULL;
      g_assert_true (chatd_key_record_encode (record, signature, &encoded, NULL));
      g_assert_cmpmem (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), data, size);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->message[0] != '\0');
    }
  g_clear_error (&error);

  g_autoptr(ChatdKey) server = chatd_suite_25519.import_private (&chatd_suite_25519,
                                                                  chatd_suite_25519_kat_private,
                                                                  sizeof chatd_suite_25519_kat_private,
                                                                  NULL);
  g_autoptr(ChatdKeyRecord) verified = NULL;
  if (chatd_key_record_verify (server, data, size, 1800000000, &verified, &error))
    {
      /* verified implies decoded, with the same fields */
      g_assert_nonnull (record);
      g_assert_cmpstr (verified->name, ==, record->name);
      g_assert_true (g_bytes_equal (verified->public_key, record->public_key));
    }
  else
    g_assert_nonnull (error);
  return 0;
}
