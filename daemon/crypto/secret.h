/* secret.h: bytes that must not leak: allocated in libgcrypt secure memory
 * (locked, not swapped) and wiped when freed.  Shared by the core and the
 * suite plugins (compiled into both; no state).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gsize   len;
  guint8 *data;   /* len bytes of secure memory (at least 1 byte allocated) */
} ChatdSecret;

/* Aborts like g_malloc when memory runs out. Zero-filled. */
ChatdSecret *chatd_secret_new       (gsize len);
ChatdSecret *chatd_secret_new_from  (const void *data, gsize len);
/* len bytes from libgcrypt's strong random generator, in secure memory
 * (for key exchange secrets and other fresh keys). */
ChatdSecret *chatd_secret_new_random (gsize len);
/* Public random bytes (nonces, salts, message ids): libgcrypt's nonce
 * generator. */
void         chatd_random_nonce     (void *out, gsize len);
/* Shortens the visible length (wiping the cut bytes); never grows. */
void         chatd_secret_truncate  (ChatdSecret *secret, gsize len);
void         chatd_secret_free      (ChatdSecret *secret);

/* Wipes len bytes in a way the compiler cannot drop. */
void         chatd_wipe             (void *data, gsize len);

/* Compares two buffers of the same length in time that depends only on len. */
gboolean     chatd_memequal_ct      (const void *a, const void *b, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdSecret, chatd_secret_free)

G_END_DECLS
