/* crypto-init.h: libgcrypt initialisation, once per process, in the core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The libgcrypt version the daemon needs at least. */
#define CHATD_GCRYPT_VERSION_MIN "1.10.0"
/* Initial secure-memory pool; it grows in steps of the same size. */
#define CHATD_SECMEM_POOL_SIZE (256 * 1024)

/* Checks the libgcrypt version and sets up secure memory (locked pages, so
 * call it after --daemon has forked: a forked child has no locked pages) and
 * finishes libgcrypt's initialisation.  Call it before loading any plugin.
 * Calling it again is harmless. */
gboolean chatd_crypto_init (GError **error);

G_END_DECLS
