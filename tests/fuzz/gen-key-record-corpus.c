/* gen-key-record-corpus.c: writes the seed corpus of fuzz-key-record: key
 * records signed by suite-25519's known-answer private key (the key the
 * harness verifies with).  Run once: gen-key-record-corpus DIR.  Not a test.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "key-record.h"
#include "suite-25519.h"

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  g_assert_true (chatd_crypto_init (NULL));
  g_autoptr(ChatdKey) server = chatd_suite_25519.import_private (&chatd_suite_25519,
    chatd_suite_25519_kat_private, sizeof chatd_suite_25519_kat_private, NULL);
  g_autoptr(GBytes) public_key = chatd_suite_25519.export_public (server, NULL);
  static char *peer_session[] = { (char *) CHATD_FEATURE_PEER_SESSION, (char *) "x.y/2", NULL };
  const struct { const char *file, *name; gint64 issued, expires; guint version; GStrv features; } seeds[] = {
    { "alice-valid", "Alice", 1800000000 - 60, 1800000000 + 7 * 86400, 1, NULL },
    { "long-name-expired", "abcdefghijklmnopqrstuvwxyz012345", 1700000000, 1700000001, 1, NULL },
    { "bob-v2-features", "Bob", 1800000000 - 60, 1800000000 + 7 * 86400, 2, peer_session },
  };
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    {
      ChatdKeyRecord record = { (char *) seeds[i].name, (char *) "25519", public_key,
                                seeds[i].issued, seeds[i].expires, seeds[i].features, seeds[i].version };
      g_autoptr(GBytes) encoded = NULL;
      g_autoptr(GError) error = NULL;
      g_assert_true (chatd_key_record_sign (server, &record, &encoded, &error));
      g_autofree char *path = g_build_filename (argv[1], seeds[i].file, NULL);
      g_assert_true (g_file_set_contents (path, g_bytes_get_data (encoded, NULL),
                                          g_bytes_get_size (encoded), NULL));
    }
  return 0;
}
