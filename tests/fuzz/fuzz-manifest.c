/* fuzz-manifest.c: the server's signed list of online users
 * (daemon/auth/manifest.c), as a user node decodes it.
 *
 * Whatever decodes has every field within the layout's bounds (names at
 * most 32 bytes, addresses 64, UTF-8 without NUL, a non-empty key, expiry
 * not before issue), encodes to bytes that decode to the same encoding, and
 * renders for chatctl; a malformed manifest is an error, never a crash.
 * The input is also checked as signed by suite-25519's known-answer key (the
 * key that signed the seeds: gen-manifest-corpus, this file built with
 * -DFUZZ_MANIFEST_GEN_CORPUS), with the signature in the input's last 64
 * bytes: a signature that verifies over a different manifest must not exist.
 */
#include "chatd-crypto.h"
#include "login.h"
#include "manifest.h"
#include "suite-25519.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define SIGNATURE_LEN 64

static ChatdKey *server_key;

static void
check_entry (const ChatdManifestEntry *e)
{
  g_assert_true (strlen (e->name) >= 1 && strlen (e->name) <= 32);
  g_assert_true (strlen (e->address) >= 1 && strlen (e->address) <= 64);
  g_assert_true (strlen (e->suite) >= 1 && strlen (e->suite) <= 32);
  g_assert_true (g_utf8_validate (e->name, -1, NULL) && g_utf8_validate (e->address, -1, NULL) &&
                 g_utf8_validate (e->suite, -1, NULL));
  g_assert_cmpuint (g_bytes_get_size (e->public_key), >, 0);
}

static ChatdManifest *
decode_checked (const guint8 *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  ChatdManifest *manifest = chatd_manifest_decode (data, len, &error);
  if (manifest == NULL)
    {
      g_assert_nonnull (error);
      return NULL;
    }
  g_assert_no_error (error);
  g_assert_cmpint (manifest->expires_at, >=, manifest->issued_at);
  g_assert_cmpint (manifest->issued_at, >=, 0);
  g_assert_cmpuint (manifest->entries->len, <=, CHATD_MANIFEST_USERS_MAX);
  for (guint i = 0; i < manifest->entries->len; i++)
    check_entry (manifest->entries->pdata[i]);
  return manifest;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (server_key == NULL)
    {
      g_assert_true (chatd_crypto_init (NULL));
      server_key = chatd_suite_25519.import_private (&chatd_suite_25519, chatd_suite_25519_kat_private,
                                                     sizeof chatd_suite_25519_kat_private, NULL);
      g_assert_nonnull (server_key);
    }

  g_autoptr(ChatdManifest) manifest = decode_checked (data, size);
  if (manifest != NULL)
    {
      g_autoptr(GBytes) again = chatd_manifest_encode (manifest);
      g_autoptr(ChatdManifest) second = decode_checked (g_bytes_get_data (again, NULL), g_bytes_get_size (again));
      g_assert_nonnull (second);
      g_autoptr(GBytes) third = chatd_manifest_encode (second);
      g_assert_true (g_bytes_equal (again, third));
      g_autoptr(GVariant) v = g_variant_ref_sink (chatd_manifest_to_variant (manifest));
      g_assert_cmpuint (g_variant_n_children (v), ==, manifest->entries->len);
    }

  /* as signed: manifest || 64-byte signature, checked as a WELCOME is */
  if (size >= SIGNATURE_LEN)
    {
      ChatdSlice body = CHATD_SLICE (data, size - SIGNATURE_LEN);
      if (chatd_domain_verify (server_key, CHATD_PURPOSE_MANIFEST, &body, 1, data + size - SIGNATURE_LEN,
                               SIGNATURE_LEN, NULL))
        {
          /* only the seeds were ever signed: each decodes */
          g_autoptr(ChatdManifest) signed_manifest = decode_checked (data, size - SIGNATURE_LEN);
          g_assert_nonnull (signed_manifest);
        }
    }
  return 0;
}

#ifdef FUZZ_MANIFEST_GEN_CORPUS
static void
write_seed (const char *dir, const char *name, GBytes *manifest, gboolean sign)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
  if (sign)
    {
      ChatdSlice body = CHATD_SLICE (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
      g_autoptr(GBytes) signature = NULL;
      g_assert_true (chatd_domain_sign (server_key, CHATD_PURPOSE_MANIFEST, &body, 1, &signature, NULL));
      g_assert_cmpuint (g_bytes_get_size (signature), ==, SIGNATURE_LEN);
      g_byte_array_append (out, g_bytes_get_data (signature, NULL), SIGNATURE_LEN);
    }
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  LLVMFuzzerTestOneInput ((const guint8 *) "", 0);   /* the key */
  g_autoptr(GBytes) key = chatd_suite_25519.export_public (server_key, NULL);
  guint8 nonce[CHATD_MANIFEST_NONCE_LEN];
  memset (nonce, 0x5c, sizeof nonce);
  g_autoptr(ChatdManifest) empty = chatd_manifest_new (1800000000, 30, nonce);
  g_autoptr(GBytes) empty_bytes = chatd_manifest_encode (empty);
  write_seed (argv[1], "empty", empty_bytes, FALSE);
  write_seed (argv[1], "empty-signed", empty_bytes, TRUE);
  g_autoptr(ChatdManifest) three = chatd_manifest_new (1800000000, 30, nonce);
  chatd_manifest_add (three, "Alice", "127.0.0.1:7001", "25519", key, 1800000000 - 100);
  chatd_manifest_add (three, "Bob", "[2001:db8::1]:7002", "25519", key, 1800000000 - 50);
  chatd_manifest_add (three, "abcdefghijklmnopqrstuvwxyz012345", "host.example:65535", "rsa", key, 0);
  g_autoptr(GBytes) three_bytes = chatd_manifest_encode (three);
  write_seed (argv[1], "three", three_bytes, FALSE);
  write_seed (argv[1], "three-signed", three_bytes, TRUE);
  return 0;
}
#endif
