/* login-record.c: what the login protocol sends for a name before the user
 * has proved anything: the registered user's record, or for an unknown name
 * a fake derived from HMAC(server secret, folded name), of the same length
 * and header shape, stable per name.  Both paths do the same work (the fake
 * is always computed), so timing tells nothing either (doc/protocol.md,
 * "Server directory").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "directory-private.h"
#include "node-options.h"

#include <string.h>

#define FAKE_PURPOSE      "fake-login-record"
#define FAKE_EXPAND_INFO  "chatd/1/fake-login-record/expand"
/* the default suite's private key body: ed_seed || x_secret, any 64 bytes */
#define FAKE_PRIVATE_BODY 64
#define FAKE_CIPHERTEXT   (CHATD_WRAP_BLOB_LEN - CHATD_WRAP_HEADER_LEN)
#define FAKE_OKM_LEN      (CHATD_WRAP_SALT_LEN + 12 + FAKE_PRIVATE_BODY + FAKE_CIPHERTEXT)

/* Offsets in the wrapped blob's header (doc/protocol.md). */
#define OFF_VERSION 4
#define OFF_PARAMS  5
#define OFF_SALT    17
#define OFF_NONCE   33

static void
put_u32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static gboolean
derive_fake (ChatdDirectory *directory, const char *name, ChatdLoginRecord **ret_record,
             GError **error)
{
  const guint8 *secret = chatd_directory_get_server_secret (directory);
  if (secret == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the server has no identity yet (run chatctl seed)");
      return FALSE;
    }
  const ChatdSuite *suite = chatd_directory_default_suite (directory, error);
  if (suite == NULL)
    return FALSE;
  g_autofree char *folded = chatd_directory_fold_name (name);
  ChatdSlice fields[] = { CHATD_SLICE_STR (folded) };
  g_autoptr(ChatdSecret) seed = chatd_secret_new (CHATD_DOMAIN_MAC_LEN);
  g_autoptr(ChatdSecret) okm = chatd_secret_new (FAKE_OKM_LEN);
  if (!chatd_domain_mac (secret, CHATD_DIRECTORY_SECRET_LEN, FAKE_PURPOSE, fields, 1,
                         seed->data, error) ||
      !chatd_hkdf_sha256 (NULL, 0, seed->data, seed->len,
                          (const guint8 *) FAKE_EXPAND_INFO, strlen (FAKE_EXPAND_INFO),
                          okm->data, okm->len, error))
    return FALSE;
  const guint8 *salt = okm->data;
  const guint8 *nonce = salt + CHATD_WRAP_SALT_LEN;
  const guint8 *private_body = nonce + 12;
  const guint8 *ciphertext = private_body + FAKE_PRIVATE_BODY;

  /* a real key of the default suite, made from derived bytes */
  gsize blob_max = CHATD_KEYBLOB_OVERHEAD (strlen (CHATD_DIRECTORY_DEFAULT_SUITE)) + FAKE_PRIVATE_BODY;
  g_autoptr(ChatdSecret) private_blob = chatd_secret_new (blob_max);
  gsize blob_len = 0;
  if (!chatd_keyblob_write (CHATD_DIRECTORY_DEFAULT_SUITE, CHATD_KEY_PRIVATE, private_body,
                            FAKE_PRIVATE_BODY, private_blob->data, private_blob->len, &blob_len,
                            error))
    return FALSE;
  g_autoptr(ChatdKey) key = suite->import_private (suite, private_blob->data, blob_len, error);
  if (key == NULL)
    return FALSE;
  g_autoptr(GBytes) public_key = suite->export_public (key, error);
  if (public_key == NULL)
    return FALSE;

  guint8 *wrapped = g_malloc (CHATD_WRAP_BLOB_LEN);
  memcpy (wrapped, CHATD_WRAP_MAGIC, 4);
  wrapped[OFF_VERSION] = CHATD_WRAP_VERSION;
  put_u32 (wrapped + OFF_PARAMS, directory->config.kdf.time_cost);
  put_u32 (wrapped + OFF_PARAMS + 4, directory->config.kdf.memory_kib);
  put_u32 (wrapped + OFF_PARAMS + 8, directory->config.kdf.parallelism);
  memcpy (wrapped + OFF_SALT, salt, CHATD_WRAP_SALT_LEN);
  memcpy (wrapped + OFF_NONCE, nonce, 12);
  memcpy (wrapped + CHATD_WRAP_HEADER_LEN, ciphertext, FAKE_CIPHERTEXT);

  ChatdLoginRecord *record = g_new0 (ChatdLoginRecord, 1);
  record->suite = g_strdup (CHATD_DIRECTORY_DEFAULT_SUITE);
  record->public_key = g_steal_pointer (&public_key);
  record->wrapped_key = g_bytes_new_take (wrapped, CHATD_WRAP_BLOB_LEN);
  *ret_record = record;
  return TRUE;
}

gboolean
chatd_directory_fake_login_record (ChatdDirectory *directory, const char *name,
                                   ChatdLoginRecord **ret_record, GError **error)
{
  if (!chatd_user_name_is_valid (name, error))
    return FALSE;
  return derive_fake (directory, name, ret_record, error);
}

gboolean
chatd_directory_login_record (ChatdDirectory *directory, const char *name,
                              ChatdLoginRecord **ret_record, GError **error)
{
  if (!chatd_user_name_is_valid (name, error))
    return FALSE;
  /* always: the same work for a registered and an unknown name */
  g_autoptr(ChatdLoginRecord) fake = NULL;
  if (!derive_fake (directory, name, &fake, error))
    return FALSE;
  g_autoptr(ChatdDirectoryUser) user = NULL;
  g_autoptr(GError) lookup_error = NULL;
  if (!chatd_directory_get_user (directory, name, &user, &lookup_error))
    {
      if (!g_error_matches (lookup_error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&lookup_error));
          return FALSE;
        }
      *ret_record = g_steal_pointer (&fake);
      return TRUE;
    }
  ChatdLoginRecord *record = g_new0 (ChatdLoginRecord, 1);
  record->suite = g_strdup (user->suite);
  record->public_key = g_bytes_ref (user->public_key);
  record->wrapped_key = g_bytes_ref (user->wrapped_key);
  *ret_record = record;
  return TRUE;
}
