/* secret.c: secure-memory byte buffers and constant-time comparison.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "secret.h"

#include <gcrypt.h>
#include <string.h>

ChatdSecret *
chatd_secret_new (gsize len)
{
  ChatdSecret *secret = g_new0 (ChatdSecret, 1);
  /* gcry_xcalloc_secure calls libgcrypt's out-of-core handler (abort) on
   * failure, like g_malloc; the pool grows on demand (chatd_crypto_init). */
  secret->data = gcry_xcalloc_secure (1, MAX (len, 1));
  secret->len = len;
  return secret;
}

ChatdSecret *
chatd_secret_new_from (const void *data, gsize len)
{
  ChatdSecret *secret = chatd_secret_new (len);
  if (len > 0)
    memcpy (secret->data, data, len);
  return secret;
}

ChatdSecret *
chatd_secret_new_random (gsize len)
{
  ChatdSecret *secret = chatd_secret_new (len);

  if (len > 0)
    gcry_randomize (secret->data, len, GCRY_STRONG_RANDOM);
  return secret;
}

void
chatd_random_nonce (void *out, gsize len)
{
  if (len > 0)
    gcry_create_nonce (out, len);
}

void
chatd_secret_truncate (ChatdSecret *secret, gsize len)
{
  g_return_if_fail (len <= secret->len);
  chatd_wipe (secret->data + len, secret->len - len);
  secret->len = len;
}

void
chatd_secret_free (ChatdSecret *secret)
{
  if (secret == NULL)
    return;
  chatd_wipe (secret->data, secret->len);
  gcry_free (secret->data);
  g_free (secret);
}

void
chatd_wipe (void *data, gsize len)
{
  if (data != NULL && len > 0)
    explicit_bzero (data, len);
}

gboolean
chatd_memequal_ct (const void *a, const void *b, gsize len)
{
  const volatile guint8 *x = a;
  const volatile guint8 *y = b;
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= x[i] ^ y[i];
  return diff == 0;
}
