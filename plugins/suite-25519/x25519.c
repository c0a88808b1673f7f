/* x25519.c: X25519 with a check for low-order points.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "x25519.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>
#include <string.h>

gboolean
chatd_x25519 (const guint8 scalar[CHATD_X25519_LEN], const guint8 *point,
              guint8 ret[CHATD_X25519_LEN], GError **error)
{
  static const guint8 zero[CHATD_X25519_LEN] = { 0 };
  g_autoptr(ChatdSecret) out = chatd_secret_new (CHATD_X25519_LEN);
  gpg_error_t err;

  err = gcry_ecc_mul_point (GCRY_ECC_CURVE25519, out->data, scalar, point);
  if (err)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "X25519 failed: %s", gcry_strerror (err));
      return FALSE;
    }
  /* libgcrypt returns success and zeros for a low-order point */
  if (chatd_memequal_ct (out->data, zero, CHATD_X25519_LEN))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "X25519 with a low-order public share (all-zero result) refused");
      return FALSE;
    }
  memcpy (ret, out->data, CHATD_X25519_LEN);
  return TRUE;
}
