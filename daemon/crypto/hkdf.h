/* hkdf.h: HMAC-SHA256 and HKDF-SHA256 (RFC 5869) on libgcrypt's HMAC
 * (libgcrypt 1.10 has no HKDF).  Shared by the core and the suite plugins.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "slice.h"

G_BEGIN_DECLS

#define CHATD_SHA256_LEN 32
#define CHATD_HKDF_OUTPUT_MAX (255 * CHATD_SHA256_LEN)

/* HMAC-SHA256 over the concatenation of n_parts. */
gboolean chatd_hmac_sha256 (const guint8 *key, gsize key_len,
                            const ChatdSlice *parts, gsize n_parts,
                            guint8 ret_mac[CHATD_SHA256_LEN], GError **error);

/* PRK = HMAC(salt, IKM), IKM being the concatenation of ikm_parts; an empty
 * salt means 32 zero bytes, as RFC 5869 says. */
gboolean chatd_hkdf_extract (const guint8 *salt, gsize salt_len,
                             const ChatdSlice *ikm_parts, gsize n_ikm_parts,
                             guint8 ret_prk[CHATD_SHA256_LEN], GError **error);

/* OKM of out_len <= 255 * 32 bytes; info is the concatenation of info_parts. */
gboolean chatd_hkdf_expand (const guint8 prk[CHATD_SHA256_LEN],
                            const ChatdSlice *info_parts, gsize n_info_parts,
                            guint8 *ret_okm, gsize out_len, GError **error);

/* Extract then expand, with single-piece inputs. */
gboolean chatd_hkdf_sha256 (const guint8 *salt, gsize salt_len,
                            const guint8 *ikm, gsize ikm_len,
                            const guint8 *info, gsize info_len,
                            guint8 *ret_okm, gsize out_len, GError **error);

/* The suite interface's CAN_KDF functions (include/chatd/suite.h) on
 * SHA-256: kdf_len 32, hash SHA-256, mac HMAC-SHA256, kdf HKDF-SHA256.  The
 * built-in suites point their descriptors at these. */
#define CHATD_SHA256_SUITE_KDF_LEN CHATD_SHA256_LEN
gboolean chatd_sha256_suite_hash (const guint8 *data, gsize len, guint8 *ret_digest,
                                  GError **error);
gboolean chatd_sha256_suite_mac  (const guint8 *key, gsize key_len, const guint8 *data, gsize len,
                                  guint8 *ret_mac, GError **error);
gboolean chatd_sha256_suite_kdf  (const guint8 *salt, gsize salt_len, const guint8 *ikm,
                                  gsize ikm_len, const guint8 *info, gsize info_len,
                                  guint8 *ret_okm, gsize okm_len, GError **error);

G_END_DECLS
