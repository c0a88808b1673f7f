/* keyblob.c: the common key blob envelope.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "keyblob.h"

#include <gcrypt.h>
#include <string.h>

#define INVALID(...) \
  (g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, __VA_ARGS__), FALSE)

static const char *
kind_name (ChatdKeyKind kind)
{
  return kind == CHATD_KEY_PRIVATE ? "private" : "public";
}

gboolean
chatd_keyblob_parse (const guint8 *blob, gsize len,
                     const char *suite_name, ChatdKeyKind kind,
                     const guint8 **ret_body, gsize *ret_body_len,
                     GError **error)
{
  gsize name_len, body_len, header_len;
  guint8 want_kind = kind == CHATD_KEY_PRIVATE ? CHATD_KEYBLOB_KIND_PRIVATE
                                               : CHATD_KEYBLOB_KIND_PUBLIC;

  if (len > CHATD_KEY_BLOB_MAX)
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes is oversized (limit %d)",
                    len, CHATD_KEY_BLOB_MAX);
  if (len < CHATD_KEYBLOB_OVERHEAD (1))
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes is truncated", len);
  if (memcmp (blob, CHATD_KEYBLOB_MAGIC, 4) != 0)
    return INVALID ("not a chatd key blob (bad magic)");
  if (blob[4] != CHATD_KEYBLOB_VERSION)
    return INVALID ("key blob format version %u is not supported", blob[4]);
  if (blob[5] != CHATD_KEYBLOB_KIND_PUBLIC && blob[5] != CHATD_KEYBLOB_KIND_PRIVATE)
    return INVALID ("key blob of unknown kind %u", blob[5]);
  name_len = blob[6];
  if (name_len == 0 || name_len > CHATD_SUITE_NAME_MAX)
    return INVALID ("key blob with a suite name of %" G_GSIZE_FORMAT " bytes", name_len);
  header_len = CHATD_KEYBLOB_OVERHEAD (name_len);
  if (len < header_len)
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes is truncated", len);
  for (gsize i = 0; i < name_len; i++)
    {
      guint8 c = blob[7 + i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        return INVALID ("key blob with an invalid suite name");
    }
  if (strlen (suite_name) != name_len || memcmp (blob + 7, suite_name, name_len) != 0)
    return INVALID ("key blob is for suite '%.*s', not '%s'",
                    (int) name_len, (const char *) blob + 7, suite_name);
  if (blob[5] != want_kind)
    return INVALID ("key blob holds a %s key where a %s key was expected",
                    kind_name (blob[5] == CHATD_KEYBLOB_KIND_PRIVATE ? CHATD_KEY_PRIVATE
                                                                      : CHATD_KEY_PUBLIC),
                    kind_name (kind));
  body_len = ((gsize) blob[7 + name_len] << 8) | blob[8 + name_len];
  if (len < header_len + body_len)
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes is truncated (%" G_GSIZE_FORMAT
                    " expected)", len, header_len + body_len);
  if (len > header_len + body_len)
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes is oversized (%" G_GSIZE_FORMAT
                    " expected)", len, header_len + body_len);
  *ret_body = blob + header_len;
  *ret_body_len = body_len;
  return TRUE;
}

gboolean
chatd_keyblob_write (const char *suite_name, ChatdKeyKind kind,
                     const guint8 *body, gsize body_len,
                     guint8 *out, gsize out_len, gsize *ret_len,
                     GError **error)
{
  gsize name_len = strlen (suite_name);
  gsize total = CHATD_KEYBLOB_OVERHEAD (name_len) + body_len;

  g_return_val_if_fail (name_len > 0 && name_len <= CHATD_SUITE_NAME_MAX, FALSE);
  if (total > CHATD_KEY_BLOB_MAX || body_len > G_MAXUINT16)
    return INVALID ("key body of %" G_GSIZE_FORMAT " bytes is too large", body_len);
  if (total > out_len)
    return INVALID ("key blob of %" G_GSIZE_FORMAT " bytes does not fit into %"
                    G_GSIZE_FORMAT, total, out_len);
  memcpy (out, CHATD_KEYBLOB_MAGIC, 4);
  out[4] = CHATD_KEYBLOB_VERSION;
  out[5] = kind == CHATD_KEY_PRIVATE ? CHATD_KEYBLOB_KIND_PRIVATE : CHATD_KEYBLOB_KIND_PUBLIC;
  out[6] = (guint8) name_len;
  memcpy (out + 7, suite_name, name_len);
  out[7 + name_len] = (guint8) (body_len >> 8);
  out[8 + name_len] = (guint8) body_len;
  memcpy (out + 9 + name_len, body, body_len);
  *ret_len = total;
  return TRUE;
}

GBytes *
chatd_keyblob_new_public (const char *suite_name, const guint8 *body, gsize body_len)
{
  gsize len = CHATD_KEYBLOB_OVERHEAD (strlen (suite_name)) + body_len;
  guint8 *out = g_malloc (len);
  gsize written = 0;

  if (!chatd_keyblob_write (suite_name, CHATD_KEY_PUBLIC, body, body_len, out, len,
                            &written, NULL))
    g_assert_not_reached ();  /* the suites' public bodies are small */
  return g_bytes_new_take (out, written);
}

void
chatd_keyblob_fingerprint (GBytes *public_blob, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN])
{
  gsize len;
  const guint8 *data = g_bytes_get_data (public_blob, &len);

  gcry_md_hash_buffer (GCRY_MD_SHA256, ret_fingerprint, data, len);
}
