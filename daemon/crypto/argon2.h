/* argon2.h: Argon2id (RFC 9106) through libgcrypt's gcry_kdf_open.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 time_cost;     /* passes, t */
  guint32 memory_kib;    /* m, in KiB */
  guint32 parallelism;   /* lanes, p */
} ChatdKdfParams;

/* What chatd uses unless told otherwise (64 MiB, 3 passes, 1 lane: about
 * 230 ms on the reference machine). */
#define CHATD_KDF_DEFAULT_TIME_COST    3
#define CHATD_KDF_DEFAULT_MEMORY_KIB   (64 * 1024)
#define CHATD_KDF_DEFAULT_PARALLELISM  1

/* The cap: parameters above these are refused (a client must not let a
 * server make it spend unbounded memory or time). */
#define CHATD_KDF_MAX_TIME_COST        10
#define CHATD_KDF_MAX_MEMORY_KIB       (256 * 1024)
#define CHATD_KDF_MAX_PARALLELISM      4

#define CHATD_KDF_DEFAULT_PARAMS \
  ((ChatdKdfParams) { CHATD_KDF_DEFAULT_TIME_COST, CHATD_KDF_DEFAULT_MEMORY_KIB, \
                      CHATD_KDF_DEFAULT_PARALLELISM })

/* Refuses parameters above the cap or below Argon2's minimum (t >= 1,
 * p >= 1, m >= 8 p). */
gboolean chatd_kdf_params_check (const ChatdKdfParams *params, GError **error);

/* Argon2id; secret and ad may be empty.  Output into ret_tag (out_len >= 4). */
gboolean chatd_argon2id (const ChatdKdfParams *params,
                         const guint8 *password, gsize password_len,
                         const guint8 *salt, gsize salt_len,
                         const guint8 *secret, gsize secret_len,
                         const guint8 *ad, gsize ad_len,
                         guint8 *ret_tag, gsize out_len, GError **error);

G_END_DECLS
