/* key-record.c: signed key records (doc/protocol.md, "Server directory").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "key-record.h"
#include "node-options.h"
#include "session-protocol.h"

#include <string.h>

void
chatd_key_record_free (ChatdKeyRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record->suite);
  g_clear_pointer (&record->public_key, g_bytes_unref);
  g_strfreev (record->features);
  g_free (record);
}

gboolean
chatd_key_record_feature_is_valid (const char *feature)
{
  gsize len = feature ? strlen (feature) : 0;
  if (len == 0 || len > CHATD_KEY_RECORD_FEATURE_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (feature[i]) || g_ascii_isdigit (feature[i]) || strchr ("/.-", feature[i]) != NULL))
      return FALSE;
  return TRUE;
}

gboolean
chatd_key_record_has_feature (const ChatdKeyRecord *record, const char *feature)
{
  return record != NULL && record->features != NULL && g_strv_contains ((const char * const *) record->features, feature);
}

/* the features field: u8 n, then n times (u8 length, name) */
static GBytes *
features_encoding (const ChatdKeyRecord *record)
{
  GByteArray *out = g_byte_array_new ();
  guint8 n = record->features ? (guint8) g_strv_length (record->features) : 0;
  g_byte_array_append (out, &n, 1);
  for (guint i = 0; i < n; i++)
    {
      guint8 len = (guint8) strlen (record->features[i]);
      g_byte_array_append (out, &len, 1);
      g_byte_array_append (out, (const guint8 *) record->features[i], len);
    }
  return g_byte_array_free_to_bytes (out);
}

static void
put_i64 (guint8 out[8], gint64 value)
{
  guint64 v = (guint64) value;
  for (int i = 7; i >= 0; i--, v >>= 8)
    out[i] = (guint8) v;
}

static gint64
get_i64 (const guint8 *p)
{
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return (gint64) v;
}

static gboolean
check_fields (const ChatdKeyRecord *record, GError **error)
{
  gsize key_len = record->public_key ? g_bytes_get_size (record->public_key) : 0;
  if (!chatd_user_name_is_valid (record->name, error))
    return FALSE;
  if (record->suite == NULL || !chatd_suite_name_is_valid (record->suite) ||
      key_len == 0 || key_len > CHATD_KEY_BLOB_MAX || record->expires <= record->issued_at)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "key record: invalid suite name, key length or lifetime");
      return FALSE;
    }
  guint n = record->features ? g_strv_length (record->features) : 0;
  for (guint i = 0; i < n; i++)
    if (!chatd_key_record_feature_is_valid (record->features[i]))
      {
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "key record: invalid feature name");
        return FALSE;
      }
  if (record->version == 1 && n > 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "key record: version 1 has no features");
      return FALSE;
    }
  if (n > CHATD_KEY_RECORD_FEATURES_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "key record: more than %d features",
                   CHATD_KEY_RECORD_FEATURES_MAX);
      return FALSE;
    }
  return TRUE;
}

/* The signed fields: name, suite, public key, issued-at, expires, and in
 * version 2 the features field as encoded. */
static gboolean
record_signature (const ChatdKey *key, const ChatdKeyRecord *record, guint version,
                  const guint8 *signature, gsize signature_len,
                  GBytes **ret_signature, GError **error)
{
  guint8 issued[8], expires[8];
  put_i64 (issued, record->issued_at);
  put_i64 (expires, record->expires);
  g_autoptr(GBytes) features = features_encoding (record);
  ChatdSlice fields[] = {
    CHATD_SLICE_STR (record->name),
    CHATD_SLICE_STR (record->suite),
    CHATD_SLICE (g_bytes_get_data (record->public_key, NULL), g_bytes_get_size (record->public_key)),
    CHATD_SLICE (issued, 8),
    CHATD_SLICE (expires, 8),
    CHATD_SLICE (g_bytes_get_data (features, NULL), g_bytes_get_size (features)),
  };
  gsize n_fields = version >= 2 ? G_N_ELEMENTS (fields) : G_N_ELEMENTS (fields) - 1;
  if (ret_signature != NULL)
    return chatd_domain_sign (key, CHATD_KEY_RECORD_PURPOSE, fields, n_fields,
                              ret_signature, error);
  return chatd_domain_verify (key, CHATD_KEY_RECORD_PURPOSE, fields, n_fields,
                              signature, signature_len, error);
}

gboolean
chatd_key_record_encode (const ChatdKeyRecord *record, GBytes *signature,
                         GBytes **ret_encoded, GError **error)
{
  if (!check_fields (record, error))
    return FALSE;
  gsize sig_len = g_bytes_get_size (signature);
  gsize key_len = g_bytes_get_size (record->public_key);
  if (sig_len == 0 || sig_len > CHATD_KEY_RECORD_SIG_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "key record: signature of %" G_GSIZE_FORMAT " bytes", sig_len);
      return FALSE;
    }
  GByteArray *out = g_byte_array_sized_new (CHATD_KEY_RECORD_MAX);
  guint8 byte, be[8];
  g_byte_array_append (out, (const guint8 *) CHATD_KEY_RECORD_MAGIC, 4);
  guint version = record->version == 1 ? 1 : CHATD_KEY_RECORD_VERSION;
  byte = (guint8) version;
  g_byte_array_append (out, &byte, 1);
  byte = (guint8) strlen (record->name);
  g_byte_array_append (out, &byte, 1);
  g_byte_array_append (out, (const guint8 *) record->name, byte);
  byte = (guint8) strlen (record->suite);
  g_byte_array_append (out, &byte, 1);
  g_byte_array_append (out, (const guint8 *) record->suite, byte);
  guint8 len16[2] = { key_len >> 8, key_len & 0xff };
  g_byte_array_append (out, len16, 2);
  g_byte_array_append (out, g_bytes_get_data (record->public_key, NULL), key_len);
  put_i64 (be, record->issued_at);
  g_byte_array_append (out, be, 8);
  put_i64 (be, record->expires);
  g_byte_array_append (out, be, 8);
  if (version >= 2)
    {
      g_autoptr(GBytes) features = features_encoding (record);
      g_byte_array_append (out, g_bytes_get_data (features, NULL), g_bytes_get_size (features));
    }
  len16[0] = sig_len >> 8;
  len16[1] = sig_len & 0xff;
  g_byte_array_append (out, len16, 2);
  g_byte_array_append (out, g_bytes_get_data (signature, NULL), sig_len);
  *ret_encoded = g_byte_array_free_to_bytes (out);
  return TRUE;
}

gboolean
chatd_key_record_sign (const ChatdKey *server_key, const ChatdKeyRecord *record,
                       GBytes **ret_encoded, GError **error)
{
  g_autoptr(GBytes) signature = NULL;
  if (!check_fields (record, error) ||
      !record_signature (server_key, record, record->version == 1 ? 1 : CHATD_KEY_RECORD_VERSION, NULL, 0,
                         &signature, error))
    return FALSE;
  return chatd_key_record_encode (record, signature, ret_encoded, error);
}

typedef struct {
  const guint8 *p;
  gsize         left;
} Reader;

static gboolean
take (Reader *r, gsize n, const guint8 **ret)
{
  if (r->left < n)
    return FALSE;
  *ret = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
take_string (Reader *r, gsize max, char **ret)
{
  const guint8 *len, *text;
  if (!take (r, 1, &len) || *len == 0 || *len > max || !take (r, *len, &text) ||
      memchr (text, 0, *len) != NULL)
    return FALSE;
  *ret = g_strndup ((const char *) text, *len);
  return TRUE;
}

static gboolean
take_blob (Reader *r, gsize max, const guint8 **ret, gsize *ret_len)
{
  const guint8 *len;
  if (!take (r, 2, &len))
    return FALSE;
  gsize n = (gsize) len[0] << 8 | len[1];
  if (n == 0 || n > max || !take (r, n, ret))
    return FALSE;
  *ret_len = n;
  return TRUE;
}

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed key record: %s", what);
  return FALSE;
}

gboolean
chatd_key_record_decode (const guint8 *data, gsize len, ChatdKeyRecord **ret_record,
                         GBytes **ret_signature, GError **error)
{
  /* (the version is data[4], read again by chatd_key_record_verify) */
  if (data == NULL || len > CHATD_KEY_RECORD_MAX)
    return malformed (error, "oversized");
  Reader r = { data, len };
  const guint8 *magic, *version, *key, *times, *sig;
  gsize key_len = 0, sig_len = 0;
  g_autoptr(ChatdKeyRecord) record = g_new0 (ChatdKeyRecord, 1);
  if (!take (&r, 4, &magic) || memcmp (magic, CHATD_KEY_RECORD_MAGIC, 4) != 0)
    return malformed (error, "bad magic");
  if (!take (&r, 1, &version) || *version < 1 || *version > CHATD_KEY_RECORD_VERSION)
    return malformed (error, "unknown version");
  if (!take_string (&r, 32, &record->name) || !chatd_user_name_is_valid (record->name, NULL))
    return malformed (error, "bad user name");
  if (!take_string (&r, CHATD_SUITE_NAME_MAX, &record->suite) ||
      !chatd_suite_name_is_valid (record->suite))
    return malformed (error, "bad suite name");
  if (!take_blob (&r, CHATD_KEY_BLOB_MAX, &key, &key_len))
    return malformed (error, "bad public key length");
  if (!take (&r, 16, &times))
    return malformed (error, "truncated");
  if (*version >= 2)
    {
      const guint8 *count;
      if (!take (&r, 1, &count) || *count > CHATD_KEY_RECORD_FEATURES_MAX)
        return malformed (error, "bad features count");
      if (*count > 0)
        record->features = g_new0 (char *, *count + 1);
      for (guint i = 0; i < *count; i++)
        if (!take_string (&r, CHATD_KEY_RECORD_FEATURE_LEN, &record->features[i]) ||
            !chatd_key_record_feature_is_valid (record->features[i]))
          return malformed (error, "bad feature name");
    }
  if (!take_blob (&r, CHATD_KEY_RECORD_SIG_MAX, &sig, &sig_len))
    return malformed (error, "bad signature length");
  if (r.left != 0)
    return malformed (error, "trailing bytes");
  record->public_key = g_bytes_new (key, key_len);
  record->version = *version;
  record->issued_at = get_i64 (times);
  record->expires = get_i64 (times + 8);
  if (record->expires <= record->issued_at)
    return malformed (error, "expires before it was issued");
  *ret_record = g_steal_pointer (&record);
  if (ret_signature != NULL)
    *ret_signature = g_bytes_new (sig, sig_len);
  return TRUE;
}

gboolean
chatd_key_record_verify (const ChatdKey *server_key, const guint8 *data, gsize len, gint64 now,
                         ChatdKeyRecord **ret_record, GError **error)
{
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_autoptr(GBytes) signature = NULL;
  if (!chatd_key_record_decode (data, len, &record, &signature, error))
    return FALSE;
  if (!record_signature (server_key, record, data[4], g_bytes_get_data (signature, NULL),
                         g_bytes_get_size (signature), NULL, error))
    {
      g_prefix_error (error, "key record of '%s': ", record->name);
      return FALSE;
    }
  if (record->issued_at > now + CHATD_KEY_RECORD_SKEW || now >= record->expires)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "key record of '%s' is %s", record->name,
                   now >= record->expires ? "expired" : "issued in the future");
      return FALSE;
    }
  *ret_record = g_steal_pointer (&record);
  return TRUE;
}

gboolean
chatd_key_record_list_verify (const ChatdKey *server_key, const guint8 *data, gsize len, gint64 now,
                              GPtrArray **ret_records, GError **error)
{
  ChatdReader reader;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_key_record_free);
  chatd_reader_init (&reader, data, len);
  while (chatd_reader_remaining (&reader) > 0)
    {
      const guint8 *field;
      gsize field_len;
      ChatdKeyRecord *record = NULL;
      if (!chatd_session_next_field (&reader, &field, &field_len))
        {
          g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed list of key records");
          return FALSE;
        }
      if (!chatd_key_record_verify (server_key, field, field_len, now, &record, error))
        return FALSE;
      g_ptr_array_add (records, record);
    }
  *ret_records = g_steal_pointer (&records);
  return TRUE;
}
