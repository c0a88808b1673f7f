/* rsa-kat-inputs.h: the fixed inputs of the "rsa" suite's known-answer
 * vectors (plugins/suite-rsa/kat-rsa.c): shared by gen-rsa-kat, which made
 * the vectors, and test-suite-rsa, which recomputes them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#define RSA_KAT_MESSAGE   "chatd rsa known-answer message"
#define RSA_KAT_AAD       "chatd rsa known-answer aad"
#define RSA_KAT_PLAINTEXT "Beauty is truth, truth beauty"

/* PSS salt: bytes 0x01..0x20; OAEP seed: 0x41..0x60; AES-256 key || GCM
 * nonce: 0x81..0xac */
static inline void
rsa_kat_fill (guint8 *out, gsize len, guint8 first)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (first + i);
}
