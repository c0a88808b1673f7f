/* aead.c: AES-256-GCM and ChaCha20-Poly1305 through gcry_cipher.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "aead.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>

static gboolean
algorithm_of (ChatdAeadAlgorithm algorithm, int *ret_algo, int *ret_mode, GError **error)
{
  switch (algorithm)
    {
    case CHATD_AEAD_AES256_GCM:
      *ret_algo = GCRY_CIPHER_AES256;
      *ret_mode = GCRY_CIPHER_MODE_GCM;
      return TRUE;
    case CHATD_AEAD_CHACHA20_POLY1305:
      *ret_algo = GCRY_CIPHER_CHACHA20;
      *ret_mode = GCRY_CIPHER_MODE_POLY1305;
      return TRUE;
    default:
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "unknown AEAD algorithm %d", (int) algorithm);
      return FALSE;
    }
}

static gboolean
aead_open_handle (ChatdAeadAlgorithm algorithm, const guint8 *key, const guint8 *nonce,
                  const guint8 *aad, gsize aad_len, gcry_cipher_hd_t *ret_handle,
                  GError **error)
{
  gcry_cipher_hd_t handle = NULL;
  gcry_error_t err;
  int algo, mode;

  if (!algorithm_of (algorithm, &algo, &mode, error))
    return FALSE;
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

/* ---- one-shot: a handle per call ---- */

static gboolean
encrypt_with (gcry_cipher_hd_t handle, const guint8 *plaintext, gsize plaintext_len,
              guint8 *ret_ciphertext, GError **error)
{
  gcry_error_t err = gcry_cipher_final (handle);
  if (!err)
    err = gcry_cipher_encrypt (handle, ret_ciphertext, plaintext_len,
                               plaintext_len > 0 ? plaintext : (const guint8 *) "", plaintext_len);
  if (!err)
    err = gcry_cipher_gettag (handle, ret_ciphertext + plaintext_len, CHATD_AEAD_TAG_LEN);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD encryption failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}

static gboolean
decrypt_with (gcry_cipher_hd_t handle, const guint8 *ciphertext, gsize ciphertext_len,
              guint8 *ret_plaintext, GError **error)
{
  gsize plaintext_len = ciphertext_len - CHATD_AEAD_TAG_LEN;
  gcry_error_t err = gcry_cipher_final (handle);
  if (!err)
    err = gcry_cipher_decrypt (handle, ret_plaintext, plaintext_len,
                               plaintext_len > 0 ? ciphertext : (const guint8 *) "", plaintext_len);
  if (!err)
    err = gcry_cipher_checktag (handle, ciphertext + plaintext_len, CHATD_AEAD_TAG_LEN);
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

static gboolean
too_short (gsize ciphertext_len, GError **error)
{
  if (ciphertext_len >= CHATD_AEAD_TAG_LEN)
    return FALSE;
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
               "AEAD ciphertext of %" G_GSIZE_FORMAT " bytes is shorter than its tag",
               ciphertext_len);
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

  if (!aead_open_handle (algorithm, key, nonce, aad, aad_len, &handle, error))
    return FALSE;
  gboolean ok = encrypt_with (handle, plaintext, plaintext_len, ret_ciphertext, error);
  gcry_cipher_close (handle);
  return ok;
}

gboolean
chatd_aead_decrypt (ChatdAeadAlgorithm algorithm,
                    const guint8 *key, const guint8 *nonce,
                    const guint8 *aad, gsize aad_len,
                    const guint8 *ciphertext, gsize ciphertext_len,
                    guint8 *ret_plaintext, GError **error)
{
  gcry_cipher_hd_t handle;

  if (too_short (ciphertext_len, error) ||
      !aead_open_handle (algorithm, key, nonce, aad, aad_len, &handle, error))
    return FALSE;
  gboolean ok = decrypt_with (handle, ciphertext, ciphertext_len, ret_plaintext, error);
  gcry_cipher_close (handle);
  return ok;
}

/* ---- a context: one handle, keyed once ---- */

struct _ChatdAeadContext {
  gcry_cipher_hd_t handle;
};

ChatdAeadContext *
chatd_aead_context_new (ChatdAeadAlgorithm algorithm, const guint8 *key, GError **error)
{
  int algo, mode;
  gcry_cipher_hd_t handle = NULL;

  if (!algorithm_of (algorithm, &algo, &mode, error))
    return NULL;
  gcry_error_t err = gcry_cipher_open (&handle, algo, mode, GCRY_CIPHER_SECURE);
  if (!err)
    err = gcry_cipher_setkey (handle, key, CHATD_AEAD_KEY_LEN);
  if (err)
    {
      gcry_cipher_close (handle);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD setup failed: %s", gcry_strerror (err));
      return NULL;
    }
  ChatdAeadContext *context = g_new0 (ChatdAeadContext, 1);
  context->handle = handle;
  return context;
}

void
chatd_aead_context_free (ChatdAeadContext *context)
{
  if (context == NULL)
    return;
  gcry_cipher_close (context->handle);   /* libgcrypt wipes the key schedule */
  g_free (context);
}

gboolean
chatd_aead_context_set_key (ChatdAeadContext *context, const guint8 *key, GError **error)
{
  gcry_error_t err = gcry_cipher_setkey (context->handle, key, CHATD_AEAD_KEY_LEN);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD key setup failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}

/* a fresh message under the same key: reset the state, then the nonce and
 * the associated data */
static gboolean
context_start (ChatdAeadContext *context, const guint8 *nonce, const guint8 *aad, gsize aad_len,
               GError **error)
{
  gcry_error_t err = gcry_cipher_reset (context->handle);
  if (!err)
    err = gcry_cipher_setiv (context->handle, nonce, CHATD_AEAD_NONCE_LEN);
  if (!err && aad_len > 0)
    err = gcry_cipher_authenticate (context->handle, aad, aad_len);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "AEAD setup failed: %s", gcry_strerror (err));
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_aead_context_encrypt (ChatdAeadContext *context, const guint8 *nonce,
                            const guint8 *aad, gsize aad_len,
                            const guint8 *plaintext, gsize plaintext_len,
                            guint8 *ret_ciphertext, GError **error)
{
  return context_start (context, nonce, aad, aad_len, error) &&
         encrypt_with (context->handle, plaintext, plaintext_len, ret_ciphertext, error);
}

gboolean
chatd_aead_context_decrypt (ChatdAeadContext *context, const guint8 *nonce,
                            const guint8 *aad, gsize aad_len,
                            const guint8 *ciphertext, gsize ciphertext_len,
                            guint8 *ret_plaintext, GError **error)
{
  return !too_short (ciphertext_len, error) &&
         context_start (context, nonce, aad, aad_len, error) &&
         decrypt_with (context->handle, ciphertext, ciphertext_len, ret_plaintext, error);
}
