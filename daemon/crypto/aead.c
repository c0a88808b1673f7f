/* aead.c: AES-256-GCM and ChaCha20-Poly1305 through gcry_cipher.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "aead.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>

static gboolean
aead_open_handle (ChatdAeadAlgorithm algorithm, const guint8 *key, const guint8 *nonce,
                  const guint8 *aad, gsize aad_len, gcry_cipher_hd_t *ret_handle,
                  GError **error)
{
  gcry_cipher_hd_t handle = NULL;
  gcry_error_t err;
  int algo, mode;

  switch (algorithm)
    {
    case CHATD_AEAD_AES256_GCM:
      algo = GCRY_CIPHER_AES256;
      mode = GCRY_CIPHER_MODE_GCM;
      break;
    case CHATD_AEAD_CHACHA20_POLY1305:
      algo = GCRY_CIPHER_CHACHA20;
      mode = GCRY_CIPHER_MODE_POLY1305;
      break;
    default:
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "unknown AEAD algorithm %d", (int) algorithm);
      return FALSE;
    }

  err = gcry_cipher_open (&handle, algo, mode, GCRY_CIPHER_SECURE);
  if (!err)
    err = gcry_cipher_setkey (handle, key, CHATD_AEAD_KEY_LEN);
  if (!err)
    err = gcry_cipher_setiv (handle, nonce, CHATD_AEAD_NONCE_LEN);
  if (!err && aad_len > 0)
    err = gcry_cipher_authenticate (handle, aad, aad_len);
  if (err)
    {
      gcry_cipher_close (handle);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD setup failed: %s", gcry_strerror (err));
      return FALSE;
    }
  *ret_handle = handle;
  return TRUE;
}

gboolean
chatd_aead_encrypt (ChatdAeadAlgorithm algorithm,
                    const guint8 *key, const guint8 *nonce,
                    const guint8 *aad, gsize aad_len,
                    const guint8 *plaintext, gsize plaintext_len,
                    guint8 *ret_ciphertext, GError **error)
{
  gcry_cipher_hd_t handle;
  gcry_error_t err;

  if (!aead_open_handle (algorithm, key, nonce, aad, aad_len, &handle, error))
    return FALSE;
  err = gcry_cipher_final (handle);
  if (!err)
    err = gcry_cipher_encrypt (handle, ret_ciphertext, plaintext_len,
                               plaintext_len > 0 ? plaintext : (const guint8 *) "", plaintext_len);
  if (!err)
    err = gcry_cipher_gettag (handle, ret_ciphertext + plaintext_len, CHATD_AEAD_TAG_LEN);
  gcry_cipher_close (handle);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD encryption failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_aead_decrypt (ChatdAeadAlgorithm algorithm,
                    const guint8 *key, const guint8 *nonce,
                    const guint8 *aad, gsize aad_len,
                    const guint8 *ciphertext, gsize ciphertext_len,
                    guint8 *ret_plaintext, GError **error)
{
  gcry_cipher_hd_t handle;
  gcry_error_t err;
  gsize plaintext_len;

  if (ciphertext_len < CHATD_AEAD_TAG_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "AEAD ciphertext of %" G_GSIZE_FORMAT " bytes is shorter than its tag",
                   ciphertext_len);
      return FALSE;
    }
  plaintext_len = ciphertext_len - CHATD_AEAD_TAG_LEN;
  if (!aead_open_handle (algorithm, key, nonce, aad, aad_len, &handle, error))
    return FALSE;
  err = gcry_cipher_final (handle);
  if (!err)
    err = gcry_cipher_decrypt (handle, ret_plaintext, plaintext_len,
                               plaintext_len > 0 ? ciphertext : (const guint8 *) "", plaintext_len);
  if (!err)
    err = gcry_cipher_checktag (handle, ciphertext + plaintext_len, CHATD_AEAD_TAG_LEN);
  gcry_cipher_close (handle);
  if (err)
    {
      chatd_wipe (ret_plaintext, plaintext_len);
      if (gcry_err_code (err) == GPG_ERR_CHECKSUM)
        g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                             "AEAD authentication failed");
      else
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                     "AEAD decryption failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}
