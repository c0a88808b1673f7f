/* argon2.c: Argon2id through libgcrypt.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "argon2.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>

gboolean
chatd_kdf_params_check (const ChatdKdfParams *params, GError **error)
{
  if (params->time_cost < 1 || params->parallelism < 1 ||
      params->memory_kib < 8 * params->parallelism)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "Argon2id parameters t=%u m=%u KiB p=%u are invalid",
                   params->time_cost, params->memory_kib, params->parallelism);
      return FALSE;
    }
  if (params->time_cost > CHATD_KDF_MAX_TIME_COST ||
      params->memory_kib > CHATD_KDF_MAX_MEMORY_KIB ||
      params->parallelism > CHATD_KDF_MAX_PARALLELISM)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "Argon2id parameters t=%u m=%u KiB p=%u exceed the cap "
                   "(t<=%d, m<=%d KiB, p<=%d)",
                   params->time_cost, params->memory_kib, params->parallelism,
                   CHATD_KDF_MAX_TIME_COST, CHATD_KDF_MAX_MEMORY_KIB,
                   CHATD_KDF_MAX_PARALLELISM);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_argon2id (const ChatdKdfParams *params,
                const guint8 *password, gsize password_len,
                const guint8 *salt, gsize salt_len,
                const guint8 *secret, gsize secret_len,
                const guint8 *ad, gsize ad_len,
                guint8 *ret_tag, gsize out_len, GError **error)
{
  gcry_kdf_hd_t kdf = NULL;
  gcry_error_t err;
  unsigned long gcry_params[4];

  if (!chatd_kdf_params_check (params, error))
    return FALSE;
  gcry_params[0] = out_len;
  gcry_params[1] = params->time_cost;
  gcry_params[2] = params->memory_kib;
  gcry_params[3] = params->parallelism;

  err = gcry_kdf_open (&kdf, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, gcry_params, 4,
                       password, password_len, salt, salt_len,
                       secret_len > 0 ? secret : NULL, secret_len,
                       ad_len > 0 ? ad : NULL, ad_len);
  if (!err)
    err = gcry_kdf_compute (kdf, NULL);
  if (!err)
    err = gcry_kdf_final (kdf, out_len, ret_tag);
  if (kdf != NULL)
    gcry_kdf_close (kdf);
  if (err)
    {
      chatd_wipe (ret_tag, out_len);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "Argon2id failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}
