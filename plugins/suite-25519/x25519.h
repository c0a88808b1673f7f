/* x25519.h: X25519 (RFC 7748) on libgcrypt, refusing low-order points.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_X25519_LEN 32

/* ret = X25519(scalar, point); point NULL means the base point 9.  The
 * scalar is clamped as RFC 7748 says.  An all-zero result (a low-order
 * point) is refused with CHATD_ERROR_REFUSED; ret is then untouched. */
gboolean chatd_x25519 (const guint8 scalar[CHATD_X25519_LEN],
                       const guint8 *point,
                       guint8 ret[CHATD_X25519_LEN], GError **error);

G_END_DECLS
