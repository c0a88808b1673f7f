/* fingerprint.c: key fingerprints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fingerprint.h"

#include <string.h>

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

gboolean
chatd_fingerprint_parse (const char *text, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                         GError **error)
{
  guint8 out[CHATD_FINGERPRINT_LEN];
  gsize digits = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      int value = g_ascii_xdigit_value (*p);

      if (*p == ' ' || *p == ':' || *p == '-')
        continue;
      if (value < 0 || digits >= 2 * CHATD_FINGERPRINT_LEN)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "not a key fingerprint (want %d hex digits)", 2 * CHATD_FINGERPRINT_LEN);
          return FALSE;
        }
      if (digits % 2 == 0)
        out[digits / 2] = (guint8) (value << 4);
      else
        out[digits / 2] |= (guint8) value;
      digits++;
    }
  if (digits != 2 * CHATD_FINGERPRINT_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "not a key fingerprint (want %d hex digits)", 2 * CHATD_FINGERPRINT_LEN);
      return FALSE;
    }
  memcpy (ret_fingerprint, out, sizeof out);
  return TRUE;
}
