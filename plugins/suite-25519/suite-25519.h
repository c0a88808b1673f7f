/* suite-25519.h: the "25519" suite: Ed25519 signatures, RFC 9180 HPKE
 * sealing (X25519, HKDF-SHA256, ChaCha20-Poly1305), X25519 key exchange
 * and ChaCha20-Poly1305 for channels.  Byte layouts: doc/protocol.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

G_BEGIN_DECLS

#define CHATD_SUITE_25519_NAME        "25519"
/* HPKE info of every message sealed by this suite */
#define CHATD_SUITE_25519_SEAL_INFO   "chatd/1/suite-25519/seal"
/* the prefix of the Ed25519 signature that binds the X25519 key in a public blob */
#define CHATD_SUITE_25519_BINDING     "chatd/1/suite-25519/binding"
#define CHATD_SUITE_25519_PUBLIC_BODY  128   /* ed_pub || x_pub || binding signature */
#define CHATD_SUITE_25519_PRIVATE_BODY 64    /* ed_seed || x_secret */

extern const ChatdSuite chatd_suite_25519;

/* its known-answer vectors (kat-25519.c) */
#define CHATD_SUITE_25519_N_KATS (6 + 3)   /* 3: CHATD_KATS_SHA256_N */
extern const ChatdSuiteKat chatd_suite_25519_kats[CHATD_SUITE_25519_N_KATS];

/* the private key blob of the signing and opening vectors (RFC 8032 7.1
 * test 2 seed, RFC 7748 6.1 Alice's X25519 secret), for the tests */
extern const guint8 chatd_suite_25519_kat_private[CHATD_SUITE_25519_PRIVATE_BODY + 14];

G_END_DECLS
