/* suite-rsa.h: the "rsa" suite, the origin's scheme: RSA-PSS-SHA256
 * signatures (salt length 32) and sealing as RSA-OAEP-SHA256 wrapping a
 * fresh AES-256-GCM key and nonce per message.  3072-bit keys by default,
 * 2048 accepted.  Byte layouts: doc/protocol.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

G_BEGIN_DECLS

#define CHATD_SUITE_RSA_NAME          "rsa"
#define CHATD_SUITE_RSA_DEFAULT_BITS  3072
#define CHATD_SUITE_RSA_PSS_SALT_LEN  32
#define CHATD_SUITE_RSA_OAEP_SEED_LEN 32
/* the OAEP plaintext: AES-256 key (32) || GCM nonce (12) */
#define CHATD_SUITE_RSA_WRAPPED_LEN   44

extern const ChatdSuite chatd_suite_rsa;

#define CHATD_SUITE_RSA_N_KATS (2 + 3)   /* 3: CHATD_KATS_SHA256_N */
extern const ChatdSuiteKat chatd_suite_rsa_kats[CHATD_SUITE_RSA_N_KATS];
/* the RSA-2048 private key blob of the vectors, for the tests */
extern const guint8 chatd_suite_rsa_kat_private[];
extern const gsize chatd_suite_rsa_kat_private_len;

/* Deterministic variants, for making and re-checking the known-answer
 * vectors (libgcrypt's random-override): a PSS signature with the given
 * salt, and a sealed message with the given OAEP seed and AES key || nonce. */
GBytes *chatd_suite_rsa_sign_with_salt (const ChatdKey *key, const guint8 *msg, gsize msg_len,
                                        const guint8 salt[CHATD_SUITE_RSA_PSS_SALT_LEN],
                                        GError **error);
GBytes *chatd_suite_rsa_seal_with (const ChatdKey *recipient,
                                   const guint8 *aad, gsize aad_len,
                                   const guint8 *plaintext, gsize plaintext_len,
                                   const guint8 oaep_seed[CHATD_SUITE_RSA_OAEP_SEED_LEN],
                                   const guint8 key_nonce[CHATD_SUITE_RSA_WRAPPED_LEN],
                                   GError **error);

G_END_DECLS
