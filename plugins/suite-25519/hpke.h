/* hpke.h: RFC 9180 HPKE, base mode, single shot, for the one cipher suite
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305
 * (kem_id 0x0020, kdf_id 0x0001, aead_id 0x0003).
 *
 * The output of seal is enc (32 bytes) || ciphertext || tag (16 bytes),
 * the first message of the context (sequence number 0).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_HPKE_ENC_LEN  32
#define CHATD_HPKE_OVERHEAD (CHATD_HPKE_ENC_LEN + 16)

/* skE: the ephemeral secret, or NULL for a fresh random one (tests pass the
 * RFC's).  ret_sealed: CHATD_HPKE_OVERHEAD + plaintext_len bytes. */
gboolean chatd_hpke_seal_base (const guint8 pkR[32], const guint8 *skE,
                               const guint8 *info, gsize info_len,
                               const guint8 *aad, gsize aad_len,
                               const guint8 *plaintext, gsize plaintext_len,
                               guint8 *ret_sealed, GError **error);

/* ret_plaintext: sealed_len - CHATD_HPKE_OVERHEAD bytes, wiped on failure. */
gboolean chatd_hpke_open_base (const guint8 skR[32], const guint8 pkR[32],
                               const guint8 *info, gsize info_len,
                               const guint8 *aad, gsize aad_len,
                               const guint8 *sealed, gsize sealed_len,
                               guint8 *ret_plaintext, GError **error);

G_END_DECLS
