/* server-identity.c: the server's key pair and secret in its state
 * directory: server.key (private blob, 0600), server.pub (public blob) and
 * server.secret (32 random bytes, 0600).  Created once, never replaced; a
 * damaged, incomplete or unprotected identity is refused with the reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "directory-private.h"

#include <errno.h>
#include <gcrypt.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  const char *file;
  gboolean    private;
} IdentityFile;

static const IdentityFile identity_files[] = {
  { CHATD_DIRECTORY_KEY_FILE, TRUE },
  { CHATD_DIRECTORY_PUB_FILE, FALSE },
  { CHATD_DIRECTORY_SECRET_FILE, TRUE },
};

static char *
identity_path (ChatdDirectory *directory, const char *file)
{
  return g_build_filename (directory->state_dir, file, NULL);
}

/* TRUE with *ret_present; FALSE on an error other than "absent". */
static gboolean
check_file (const char *path, gboolean private, gboolean *ret_present, GError **error)
{
  struct stat st;
  if (lstat (path, &st) != 0)
    {
      int saved = errno;
      if (saved == ENOENT)
        {
          *ret_present = FALSE;
          return TRUE;
        }
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "%s is not a regular file", path);
      return FALSE;
    }
  if (private && (st.st_mode & 077) != 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "%s is readable by others (mode %04o): it must be 0600 (chmod 600 %s)",
                   path, (unsigned) (st.st_mode & 07777), path);
      return FALSE;
    }
  *ret_present = TRUE;
  return TRUE;
}

/* Reads a whole file into secure memory (at most max bytes). */
static ChatdSecret *
read_secret_file (const char *path, gsize max, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  if (len == 0 || len > max)
    {
      chatd_wipe (contents, len);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s has %" G_GSIZE_FORMAT " bytes (expected 1 to %" G_GSIZE_FORMAT ")",
                   path, len, max);
      return NULL;
    }
  ChatdSecret *secret = chatd_secret_new_from (contents, len);
  chatd_wipe (contents, len);
  return secret;
}

/* The suite named in a key blob's envelope (doc/protocol.md, "Crypto suites"). */
static char *
blob_suite_name (const guint8 *blob, gsize len)
{
  if (len < CHATD_KEYBLOB_OVERHEAD (1) || blob[6] == 0 || blob[6] > CHATD_SUITE_NAME_MAX ||
      len < CHATD_KEYBLOB_OVERHEAD ((gsize) blob[6]))
    return NULL;
  g_autofree char *name = g_strndup ((const char *) blob + 7, blob[6]);
  if (strlen (name) != blob[6] || !chatd_suite_name_is_valid (name))
    return NULL;
  return g_steal_pointer (&name);
}

static gboolean
load_files (ChatdDirectory *directory, GError **error)
{
  g_autofree char *key_path = identity_path (directory, CHATD_DIRECTORY_KEY_FILE);
  g_autofree char *pub_path = identity_path (directory, CHATD_DIRECTORY_PUB_FILE);
  g_autofree char *secret_path = identity_path (directory, CHATD_DIRECTORY_SECRET_FILE);

  g_autoptr(ChatdSecret) private_blob = read_secret_file (key_path, CHATD_KEY_BLOB_MAX, error);
  if (private_blob == NULL)
    return FALSE;
  g_autofree char *suite_name = blob_suite_name (private_blob->data, private_blob->len);
  if (suite_name == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s is damaged: not a chatd private key blob", key_path);
      return FALSE;
    }
  const ChatdSuite *suite = chatd_registry_lookup_suite (directory->registry, suite_name);
  if (suite == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "%s is a key of suite '%s', which no loaded plugin provides",
                   key_path, suite_name);
      return FALSE;
    }
  g_autoptr(ChatdKey) key = suite->import_private (suite, private_blob->data, private_blob->len,
                                                   error);
  if (key == NULL)
    {
      g_prefix_error (error, "%s is damaged: ", key_path);
      return FALSE;
    }
  g_autoptr(GBytes) public_blob = suite->export_public (key, error);
  if (public_blob == NULL)
    return FALSE;

  g_autofree char *pub = NULL;
  gsize pub_len = 0;
  if (!g_file_get_contents (pub_path, &pub, &pub_len, error))
    return FALSE;
  if (pub_len != g_bytes_get_size (public_blob) ||
      memcmp (pub, g_bytes_get_data (public_blob, NULL), pub_len) != 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s is damaged or does not belong to %s", pub_path, key_path);
      return FALSE;
    }

  g_autoptr(ChatdSecret) secret = read_secret_file (secret_path, 4096, error);
  if (secret == NULL)
    return FALSE;
  if (secret->len != CHATD_DIRECTORY_SECRET_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s is damaged: %" G_GSIZE_FORMAT " bytes (expected %d)",
                   secret_path, secret->len, CHATD_DIRECTORY_SECRET_LEN);
      return FALSE;
    }

  directory->server_key = g_steal_pointer (&key);
  directory->server_public = g_steal_pointer (&public_blob);
  directory->server_secret = g_steal_pointer (&secret);
  return TRUE;
}

/* Counts the identity files present, checking each. */
static gboolean
count_files (ChatdDirectory *directory, guint *ret_present, const char **ret_missing,
             GError **error)
{
  guint present = 0;
  const char *missing = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (identity_files); i++)
    {
      g_autofree char *path = identity_path (directory, identity_files[i].file);
      gboolean here = FALSE;
      if (!check_file (path, identity_files[i].private, &here, error))
        return FALSE;
      if (here)
        present++;
      else
        missing = identity_files[i].file;
    }
  *ret_present = present;
  *ret_missing = missing;
  return TRUE;
}

gboolean
chatd_directory_load_identity (ChatdDirectory *directory, GError **error)
{
  guint present = 0;
  const char *missing = NULL;
  if (!count_files (directory, &present, &missing, error))
    return FALSE;
  if (present == 0)
    return TRUE;
  if (present < G_N_ELEMENTS (identity_files))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "the server identity in %s is incomplete (%s is missing): restore it, or "
                   "move all server.* files away to make a new one (user nodes that pinned "
                   "the old key will refuse the new one)", directory->state_dir, missing);
      return FALSE;
    }
  return load_files (directory, error);
}

static gboolean
write_file (const char *path, const void *data, gsize len, int mode, GError **error)
{
  return g_file_set_contents_full (path, data, len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   mode, error);
}

static gboolean
create_identity (ChatdDirectory *directory, GError **error)
{
  const ChatdSuite *suite = chatd_directory_default_suite (directory, error);
  if (suite == NULL)
    return FALSE;
  g_autoptr(ChatdKey) key = suite->generate (suite, 0, error);
  if (key == NULL)
    return FALSE;
  g_autoptr(ChatdSecret) private_blob = chatd_secret_new (suite->private_blob_max);
  gsize private_len = 0;
  if (!suite->export_private (key, private_blob->data, private_blob->len, &private_len, error))
    return FALSE;
  g_autoptr(GBytes) public_blob = suite->export_public (key, error);
  if (public_blob == NULL)
    return FALSE;
  g_autoptr(ChatdSecret) secret = chatd_secret_new (CHATD_DIRECTORY_SECRET_LEN);
  gcry_randomize (secret->data, secret->len, GCRY_VERY_STRONG_RANDOM);

  g_autofree char *key_path = identity_path (directory, CHATD_DIRECTORY_KEY_FILE);
  g_autofree char *pub_path = identity_path (directory, CHATD_DIRECTORY_PUB_FILE);
  g_autofree char *secret_path = identity_path (directory, CHATD_DIRECTORY_SECRET_FILE);
  if (!write_file (secret_path, secret->data, secret->len, 0600, error) ||
      !write_file (key_path, private_blob->data, private_len, 0600, error) ||
      !write_file (pub_path, g_bytes_get_data (public_blob, NULL), g_bytes_get_size (public_blob),
                   0644, error))
    {
      g_prefix_error (error, "cannot write the server identity: ");
      return FALSE;
    }
  directory->server_key = g_steal_pointer (&key);
  directory->server_public = g_steal_pointer (&public_blob);
  directory->server_secret = g_steal_pointer (&secret);
  g_autofree char *fingerprint = chatd_directory_get_server_fingerprint (directory);
  g_message ("created the server identity in %s (key fingerprint %s)",
             directory->state_dir, fingerprint);
  return TRUE;
}

gboolean
chatd_directory_ensure_identity (ChatdDirectory *directory, gboolean *ret_created, GError **error)
{
  gboolean created = FALSE;
  if (directory->server_key == NULL)
    {
      guint present = 0;
      const char *missing = NULL;
      if (!count_files (directory, &present, &missing, error))
        return FALSE;
      if (present > 0)
        {
          /* appeared since open: load (or refuse) them, never overwrite */
          if (!chatd_directory_load_identity (directory, error))
            return FALSE;
        }
      else
        {
          if (!create_identity (directory, error))
            return FALSE;
          created = TRUE;
        }
    }
  if (ret_created != NULL)
    *ret_created = created;
  return TRUE;
}

const ChatdKey *
chatd_directory_get_server_key (ChatdDirectory *directory)
{
  return directory->server_key;
}

GBytes *
chatd_directory_get_server_public (ChatdDirectory *directory)
{
  return directory->server_public;
}

const guint8 *
chatd_directory_get_server_secret (ChatdDirectory *directory)
{
  return directory->server_secret != NULL ? directory->server_secret->data : NULL;
}

char *
chatd_directory_get_server_fingerprint (ChatdDirectory *directory)
{
  if (directory->server_public == NULL)
    return NULL;
  guint8 fingerprint[CHATD_FINGERPRINT_LEN];
  chatd_keyblob_fingerprint (directory->server_public, fingerprint);
  return chatd_fingerprint_to_string (fingerprint);
}
