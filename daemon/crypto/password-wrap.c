/* password-wrap.c: Argon2id + AES-256-GCM wrapping of private keys.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "password-wrap.h"
#include "aead.h"
#include "hkdf.h"

#include <gcrypt.h>
#include <string.h>

#define OFF_VERSION 4
#define OFF_PARAMS  5
#define OFF_SALT    17
#define OFF_NONCE   33

static void
put_u32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static guint32
get_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* header || u8 len || user || u8 len || suite */
static GByteArray *
build_aad (const guint8 *header, const char *user, const char *suite_name)
{
  GByteArray *aad = g_byte_array_sized_new (CHATD_WRAP_HEADER_LEN + 2 + 255 + CHATD_SUITE_NAME_MAX);
  guint8 len;

  g_byte_array_append (aad, header, CHATD_WRAP_HEADER_LEN);
  len = (guint8) strlen (user);
  g_byte_array_append (aad, &len, 1);
  g_byte_array_append (aad, (const guint8 *) user, len);
  len = (guint8) strlen (suite_name);
  g_byte_array_append (aad, &len, 1);
  g_byte_array_append (aad, (const guint8 *) suite_name, len);
  return aad;
}

static gboolean
check_names (const char *user, const char *suite_name, GError **error)
{
  gsize user_len = user != NULL ? strlen (user) : 0;
  gsize suite_len = suite_name != NULL ? strlen (suite_name) : 0;

  if (user_len == 0 || user_len > CHATD_WRAP_USER_MAX ||
      suite_len == 0 || suite_len > CHATD_SUITE_NAME_MAX)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "user or suite name of invalid length");
      return FALSE;
    }
  return TRUE;
}

static gboolean
derive_key (const ChatdKdfParams *params, const guint8 *password, gsize password_len,
            const guint8 *salt, ChatdSecret **ret_key, GError **error)
{
  g_autoptr(ChatdSecret) key = chatd_secret_new (CHATD_AEAD_KEY_LEN);

  if (!chatd_argon2id (params, password, password_len, salt, CHATD_WRAP_SALT_LEN,
                       NULL, 0, NULL, 0, key->data, key->len, error))
    return FALSE;
  *ret_key = g_steal_pointer (&key);
  return TRUE;
}

gboolean
chatd_password_wrap (const char *user, const char *suite_name,
                     const guint8 *password, gsize password_len,
                     const ChatdKdfParams *params,
                     const guint8 *private_blob, gsize private_blob_len,
                     GBytes **ret_wrapped, GError **error)
{
  g_autoptr(ChatdSecret) payload = NULL;
  g_autoptr(ChatdSecret) key = NULL;
  g_autoptr(GByteArray) aad = NULL;
  g_autofree guint8 *out = NULL;

  if (!check_names (user, suite_name, error) || !chatd_kdf_params_check (params, error))
    return FALSE;
  if (password_len == 0)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "empty password");
      return FALSE;
    }
  if (private_blob_len > CHATD_WRAP_PRIVATE_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "private key blob of %" G_GSIZE_FORMAT " bytes does not fit (limit %d)",
                   private_blob_len, CHATD_WRAP_PRIVATE_MAX);
      return FALSE;
    }

  out = g_malloc0 (CHATD_WRAP_BLOB_LEN);
  memcpy (out, CHATD_WRAP_MAGIC, 4);
  out[OFF_VERSION] = CHATD_WRAP_VERSION;
  put_u32 (out + OFF_PARAMS, params->time_cost);
  put_u32 (out + OFF_PARAMS + 4, params->memory_kib);
  put_u32 (out + OFF_PARAMS + 8, params->parallelism);
  gcry_randomize (out + OFF_SALT, CHATD_WRAP_SALT_LEN, GCRY_STRONG_RANDOM);
  gcry_create_nonce (out + OFF_NONCE, CHATD_AEAD_NONCE_LEN);

  payload = chatd_secret_new (CHATD_WRAP_PAYLOAD_LEN);
  payload->data[0] = (guint8) (private_blob_len >> 8);
  payload->data[1] = (guint8) private_blob_len;
  memcpy (payload->data + 2, private_blob, private_blob_len);

  if (!derive_key (params, password, password_len, out + OFF_SALT, &key, error))
    return FALSE;
  aad = build_aad (out, user, suite_name);
  if (!chatd_aead_encrypt (CHATD_AEAD_AES256_GCM, key->data, out + OFF_NONCE,
                           aad->data, aad->len, payload->data, payload->len,
                           out + CHATD_WRAP_HEADER_LEN, error))
    return FALSE;
  *ret_wrapped = g_bytes_new_take (g_steal_pointer (&out), CHATD_WRAP_BLOB_LEN);
  return TRUE;
}

gboolean
chatd_password_wrap_decoy (const guint8 *server_secret, gsize server_secret_len,
                           const char *user, const ChatdKdfParams *params,
                           GBytes **ret_wrapped, GError **error)
{
  static const char info[] = "chatd/1/wrap-decoy";
  g_autofree guint8 *out = NULL;

  if (!check_names (user, "decoy", error) || !chatd_kdf_params_check (params, error))
    return FALSE;
  if (server_secret_len < 16)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "server secret too short for decoys");
      return FALSE;
    }
  out = g_malloc0 (CHATD_WRAP_BLOB_LEN);
  memcpy (out, CHATD_WRAP_MAGIC, 4);
  out[OFF_VERSION] = CHATD_WRAP_VERSION;
  put_u32 (out + OFF_PARAMS, params->time_cost);
  put_u32 (out + OFF_PARAMS + 4, params->memory_kib);
  put_u32 (out + OFF_PARAMS + 8, params->parallelism);
  if (!chatd_hkdf_sha256 (server_secret, server_secret_len,
                          (const guint8 *) user, strlen (user),
                          (const guint8 *) info, sizeof info - 1,
                          out + OFF_SALT, CHATD_WRAP_BLOB_LEN - OFF_SALT, error))
    return FALSE;
  *ret_wrapped = g_bytes_new_take (g_steal_pointer (&out), CHATD_WRAP_BLOB_LEN);
  return TRUE;
}

gboolean
chatd_password_wrapped_params (const guint8 *wrapped, gsize wrapped_len,
                               ChatdKdfParams *ret_params, GError **error)
{
  if (wrapped_len != CHATD_WRAP_BLOB_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "wrapped key of %" G_GSIZE_FORMAT " bytes (expected %d)",
                   wrapped_len, CHATD_WRAP_BLOB_LEN);
      return FALSE;
    }
  if (memcmp (wrapped, CHATD_WRAP_MAGIC, 4) != 0 || wrapped[OFF_VERSION] != CHATD_WRAP_VERSION)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "not a wrapped chatd key (bad magic or version)");
      return FALSE;
    }
  ret_params->time_cost = get_u32 (wrapped + OFF_PARAMS);
  ret_params->memory_kib = get_u32 (wrapped + OFF_PARAMS + 4);
  ret_params->parallelism = get_u32 (wrapped + OFF_PARAMS + 8);
  return TRUE;
}

gboolean
chatd_password_unwrap (const char *user, const char *suite_name,
                       const guint8 *password, gsize password_len,
                       const guint8 *wrapped, gsize wrapped_len,
                       ChatdSecret **ret_private_blob, GError **error)
{
  ChatdKdfParams params;
  g_autoptr(ChatdSecret) key = NULL;
  g_autoptr(ChatdSecret) payload = NULL;
  g_autoptr(GByteArray) aad = NULL;
  gsize blob_len;

  if (!check_names (user, suite_name, error) ||
      !chatd_password_wrapped_params (wrapped, wrapped_len, &params, error) ||
      !chatd_kdf_params_check (&params, error))
    return FALSE;
  if (password_len == 0)
    {
      /* libgcrypt's Argon2 takes no empty password, and none was ever wrapped */
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "wrong password, or the wrapped key is not this user's");
      return FALSE;
    }
  if (!derive_key (&params, password, password_len, wrapped + OFF_SALT, &key, error))
    return FALSE;

  aad = build_aad (wrapped, user, suite_name);
  payload = chatd_secret_new (CHATD_WRAP_PAYLOAD_LEN);
  if (!chatd_aead_decrypt (CHATD_AEAD_AES256_GCM, key->data, wrapped + OFF_NONCE,
                           aad->data, aad->len,
                           wrapped + CHATD_WRAP_HEADER_LEN, CHATD_WRAP_PAYLOAD_LEN + 16,
                           payload->data, error))
    {
      g_clear_error (error);
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "wrong password, or the wrapped key is not this user's");
      return FALSE;
    }
  blob_len = ((gsize) payload->data[0] << 8) | payload->data[1];
  if (blob_len == 0 || blob_len > CHATD_WRAP_PRIVATE_MAX)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "wrapped key holds a private key of invalid length");
      return FALSE;
    }
  memmove (payload->data, payload->data + 2, blob_len);
  chatd_secret_truncate (payload, blob_len);
  *ret_private_blob = g_steal_pointer (&payload);
  return TRUE;
}

gboolean
chatd_password_wrap_key (const char *user, const ChatdKey *key,
                         const guint8 *password, gsize password_len,
                         const ChatdKdfParams *params,
                         GBytes **ret_wrapped, GError **error)
{
  const ChatdSuite *suite = key->suite;
  g_autoptr(ChatdSecret) blob = chatd_secret_new (suite->private_blob_max);
  gsize blob_len = 0;

  if (key->kind != CHATD_KEY_PRIVATE)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "only a private key can be wrapped");
      return FALSE;
    }
  if (!suite->export_private (key, blob->data, blob->len, &blob_len, error))
    return FALSE;
  return chatd_password_wrap (user, suite->name, password, password_len, params,
                              blob->data, blob_len, ret_wrapped, error);
}

gboolean
chatd_password_unwrap_key (const char *user, const ChatdSuite *suite,
                           const guint8 *password, gsize password_len,
                           const guint8 *wrapped, gsize wrapped_len,
                           ChatdKey **ret_key, GError **error)
{
  g_autoptr(ChatdSecret) blob = NULL;
  ChatdKey *key;

  if (!chatd_password_unwrap (user, suite->name, password, password_len,
                              wrapped, wrapped_len, &blob, error))
    return FALSE;
  key = suite->import_private (suite, blob->data, blob->len, error);
  if (key == NULL)
    return FALSE;
  *ret_key = key;
  return TRUE;
}
