/* fingerprint.c: key fingerprints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fingerprint.h"

gboolean
chatd_key_fingerprint (const ChatdKey *key, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                       GError **error)
{
  return key->suite->fingerprint (key, ret_fingerprint, error);
}

char *
chatd_fingerprint_to_string (const guint8 fingerprint[CHATD_FINGERPRINT_LEN])
{
  GString *out = g_string_sized_new (80);

  for (gsize i = 0; i < CHATD_FINGERPRINT_LEN; i += 2)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      g_string_append_printf (out, "%02x%02x", fingerprint[i], fingerprint[i + 1]);
    }
  return g_string_free (out, FALSE);
}
