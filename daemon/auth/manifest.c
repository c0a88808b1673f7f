/* manifest.c: the signed list of online users. */
#define G_LOG_DOMAIN "chatd-auth"
#include "manifest.h"
#include "chatd-crypto.h"
#include "chatd-wire.h"

#include <gcrypt.h>
#include <string.h>

static void
entry_free (ChatdManifestEntry *entry)
{
  g_free (entry->name);
  g_free (entry->address);
  g_free (entry->suite);
  g_clear_pointer (&entry->public_key, g_bytes_unref);
  g_free (entry);
}

ChatdManifest *
chatd_manifest_new (gint64 issued_at, gint64 lifetime, const guint8 *nonce)
{
  ChatdManifest *manifest = g_new0 (ChatdManifest, 1);
  manifest->issued_at = issued_at;
  manifest->expires_at = issued_at + lifetime;
  if (nonce != NULL)
    memcpy (manifest->nonce, nonce, CHATD_MANIFEST_NONCE_LEN);
  manifest->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  return manifest;
}

void
chatd_manifest_free (ChatdManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_ptr_array_unref (manifest->entries);
  g_free (manifest);
}

void
chatd_manifest_add (ChatdManifest *manifest, const char *name, const char *address,
                    const char *suite, GBytes *public_key, gint64 since)
{
  ChatdManifestEntry *entry = g_new0 (ChatdManifestEntry, 1);
  entry->name = g_strdup (name);
  entry->address = g_strdup (address);
  entry->suite = g_strdup (suite);
  entry->public_key = g_bytes_ref (public_key);
  entry->since = since;
  g_ptr_array_add (manifest->entries, entry);
}

static void
put_varint (GByteArray *out, guint64 v)
{
  guint8 buf[8];
  ChatdWriter w;
  chatd_writer_init (&w, buf, sizeof buf);
  chatd_writer_varint (&w, v);
  g_byte_array_append (out, buf, sizeof buf - chatd_writer_remaining (&w));
}

static void
put_u64 (GByteArray *out, guint64 v)
{
  guint8 buf[8];
  for (int i = 7; i >= 0; i--, v >>= 8)
    buf[i] = v & 0xff;
  g_byte_array_append (out, buf, 8);
}

static void
put_field (GByteArray *out, const void *data, gsize len)
{
  put_varint (out, len);
  g_byte_array_append (out, data, len);
}

GBytes *
chatd_manifest_encode (const ChatdManifest *manifest)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  put_u64 (out, manifest->issued_at);
  put_u64 (out, manifest->expires_at);
  g_byte_array_append (out, manifest->nonce, CHATD_MANIFEST_NONCE_LEN);
  put_varint (out, manifest->entries->len);
  for (guint i = 0; i < manifest->entries->len; i++)
    {
      const ChatdManifestEntry *e = manifest->entries->pdata[i];
      gsize key_len;
      const guint8 *key = g_bytes_get_data (e->public_key, &key_len);
      put_field (out, e->name, strlen (e->name));
      put_field (out, e->address, strlen (e->address));
      put_field (out, e->suite, strlen (e->suite));
      put_field (out, key, key_len);
      put_u64 (out, e->since);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static char *
read_text (ChatdReader *r, gsize max)
{
  guint64 len = 0;
  const guint8 *p = NULL;
  if (!chatd_reader_varint (r, &len) || len == 0 || len > max || !chatd_reader_bytes (r, len, &p) ||
      memchr (p, '\0', len) != NULL || !g_utf8_validate_len ((const char *) p, len, NULL))
    return NULL;
  return g_strndup ((const char *) p, len);
}

ChatdManifest *
chatd_manifest_decode (const guint8 *data, gsize len, GError **error)
{
  ChatdReader r;
  chatd_reader_init (&r, data, len);
  guint64 issued = 0, expires = 0, count = 0;
  const guint8 *nonce = NULL;
  if (!chatd_reader_u64 (&r, &issued) || !chatd_reader_u64 (&r, &expires) ||
      !chatd_reader_bytes (&r, CHATD_MANIFEST_NONCE_LEN, &nonce) || !chatd_reader_varint (&r, &count) ||
      count > CHATD_MANIFEST_USERS_MAX || expires < issued || expires > G_MAXINT64)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed manifest header");
      return NULL;
    }
  g_autoptr(ChatdManifest) manifest = chatd_manifest_new ((gint64) issued, 0, nonce);
  manifest->expires_at = (gint64) expires;
  for (guint64 i = 0; i < count; i++)
    {
      g_autofree char *name = read_text (&r, 32);
      g_autofree char *address = name ? read_text (&r, 64) : NULL;
      g_autofree char *suite = address ? read_text (&r, 32) : NULL;
      guint64 key_len = 0, since = 0;
      const guint8 *key = NULL;
      if (suite == NULL || !chatd_reader_varint (&r, &key_len) || key_len == 0 ||
          key_len > CHATD_KEY_BLOB_MAX || !chatd_reader_bytes (&r, key_len, &key) ||
          !chatd_reader_u64 (&r, &since))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "malformed manifest entry %" G_GUINT64_FORMAT, i);
          return NULL;
        }
      g_autoptr(GBytes) public_key = g_bytes_new (key, key_len);
      chatd_manifest_add (manifest, name, address, suite, public_key, (gint64) since);
    }
  if (chatd_reader_remaining (&r) != 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "manifest has trailing bytes");
      return NULL;
    }
  return g_steal_pointer (&manifest);
}

static char *
iso8601 (gint64 unix_seconds)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (unix_seconds);
  return t != NULL ? g_date_time_format_iso8601 (t) : g_strdup ("");
}

GVariant *
chatd_manifest_to_variant (const ChatdManifest *manifest)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < manifest->entries->len; i++)
    {
      const ChatdManifestEntry *e = manifest->entries->pdata[i];
      guint8 fp[CHATD_FINGERPRINT_LEN];
      gsize key_len;
      const guint8 *key = g_bytes_get_data (e->public_key, &key_len);
      gcry_md_hash_buffer (GCRY_MD_SHA256, fp, key, key_len);
      g_autofree char *fingerprint = chatd_fingerprint_to_string (fp);
      g_autofree char *since = iso8601 (e->since);
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (e->name));
      g_variant_builder_add (&b, "{sv}", "address", g_variant_new_string (e->address));
      g_variant_builder_add (&b, "{sv}", "suite", g_variant_new_string (e->suite));
      g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (fingerprint));
      g_variant_builder_add (&b, "{sv}", "since", g_variant_new_string (since));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}
