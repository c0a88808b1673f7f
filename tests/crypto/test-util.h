/* test-util.h: helpers shared by the crypto tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <string.h>

/* hex to bytes; aborts on bad input (test data only) */
static inline GBytes *
test_hex (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *out = g_malloc (len / 2 + 1);

  g_assert_cmpuint (len % 2, ==, 0);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      g_assert_true (hi >= 0 && lo >= 0);
      out[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (out, len / 2);
}

#define TEST_DATA(b) ((const guint8 *) g_bytes_get_data ((b), NULL))
#define TEST_LEN(b)  g_bytes_get_size (b)

static inline void
test_assert_bytes (const guint8 *got, gsize got_len, GBytes *want)
{
  g_assert_cmpmem (got, got_len, g_bytes_get_data (want, NULL), g_bytes_get_size (want));
}
