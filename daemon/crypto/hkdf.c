/* hkdf.c: HMAC-SHA256 and HKDF-SHA256 (RFC 5869).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "hkdf.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>
#include <string.h>

gboolean
chatd_hmac_sha256 (const guint8 *key, gsize key_len,
                   const ChatdSlice *parts, gsize n_parts,
                   guint8 ret_mac[CHATD_SHA256_LEN], GError **error)
{
  gcry_mac_hd_t mac = NULL;
  gcry_error_t err;
  size_t mac_len = CHATD_SHA256_LEN;
  static const guint8 empty_key[1] = { 0 };

  err = gcry_mac_open (&mac, GCRY_MAC_HMAC_SHA256, GCRY_MAC_FLAG_SECURE, NULL);
  if (!err)
    err = gcry_mac_setkey (mac, key_len > 0 ? key : empty_key, key_len);
  for (gsize i = 0; !err && i < n_parts; i++)
    if (parts[i].len > 0)
      err = gcry_mac_write (mac, parts[i].data, parts[i].len);
  if (!err)
    err = gcry_mac_read (mac, ret_mac, &mac_len);
  gcry_mac_close (mac);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "HMAC-SHA256 failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_hkdf_extract (const guint8 *salt, gsize salt_len,
                    const ChatdSlice *ikm_parts, gsize n_ikm_parts,
                    guint8 ret_prk[CHATD_SHA256_LEN], GError **error)
{
  static const guint8 zero_salt[CHATD_SHA256_LEN] = { 0 };

  if (salt_len == 0)
    {
      salt = zero_salt;
      salt_len = sizeof zero_salt;
    }
  return chatd_hmac_sha256 (salt, salt_len, ikm_parts, n_ikm_parts, ret_prk, error);
}

gboolean
chatd_hkdf_expand (const guint8 prk[CHATD_SHA256_LEN],
                   const ChatdSlice *info_parts, gsize n_info_parts,
                   guint8 *ret_okm, gsize out_len, GError **error)
{
  g_autoptr(ChatdSecret) block = chatd_secret_new (CHATD_SHA256_LEN);
  g_autofree ChatdSlice *parts = NULL;
  gsize done = 0;
  guint8 counter = 0;

  if (out_len > CHATD_HKDF_OUTPUT_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "HKDF output of %" G_GSIZE_FORMAT " bytes is too long", out_len);
      return FALSE;
    }

  /* T(i) = HMAC(PRK, T(i-1) || info || i) */
  parts = g_new0 (ChatdSlice, n_info_parts + 2);
  for (gsize i = 0; i < n_info_parts; i++)
    parts[i + 1] = info_parts[i];
  parts[n_info_parts + 1].data = &counter;
  parts[n_info_parts + 1].len = 1;

  while (done < out_len)
    {
      gsize take = MIN (out_len - done, (gsize) CHATD_SHA256_LEN);

      counter++;
      parts[0].data = block->data;
      parts[0].len = counter == 1 ? 0 : CHATD_SHA256_LEN;
      if (!chatd_hmac_sha256 (prk, CHATD_SHA256_LEN, parts, n_info_parts + 2,
                              block->data, error))
        {
          chatd_wipe (ret_okm, done);
          return FALSE;
        }
      memcpy (ret_okm + done, block->data, take);
      done += take;
    }
  return TRUE;
}

gboolean
chatd_hkdf_sha256 (const guint8 *salt, gsize salt_len,
                   const guint8 *ikm, gsize ikm_len,
                   const guint8 *info, gsize info_len,
                   guint8 *ret_okm, gsize out_len, GError **error)
{
  g_autoptr(ChatdSecret) prk = chatd_secret_new (CHATD_SHA256_LEN);
  ChatdSlice ikm_part = { ikm, ikm_len };
  ChatdSlice info_part = { info, info_len };

  if (!chatd_hkdf_extract (salt, salt_len, &ikm_part, 1, prk->data, error))
    return FALSE;
  return chatd_hkdf_expand (prk->data, &info_part, 1, ret_okm, out_len, error);
}

gboolean
chatd_sha256_suite_hash (const guint8 *data, gsize len, guint8 *ret_digest, GError **error)
{
  (void) error;
  gcry_md_hash_buffer (GCRY_MD_SHA256, ret_digest, len > 0 ? data : (const guint8 *) "", len);
  return TRUE;
}

gboolean
chatd_sha256_suite_mac (const guint8 *key, gsize key_len, const guint8 *data, gsize len,
                        guint8 *ret_mac, GError **error)
{
  ChatdSlice part = CHATD_SLICE (data, len);
  return chatd_hmac_sha256 (key, key_len, &part, 1, ret_mac, error);
}

gboolean
chatd_sha256_suite_kdf (const guint8 *salt, gsize salt_len, const guint8 *ikm, gsize ikm_len,
                        const guint8 *info, gsize info_len, guint8 *ret_okm, gsize okm_len,
                        GError **error)
{
  return chatd_hkdf_sha256 (salt, salt_len, ikm, ikm_len, info, info_len, ret_okm, okm_len, error);
}
