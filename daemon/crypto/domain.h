/* domain.h: domain-separated signatures and MACs.  Every signature and MAC
 * in chatd is over
 *
 *   "chatd/1/" || purpose || 0x00 || SHA-256(field_1 || ... || field_n)
 *
 * each field encoded as its length (u32, big endian) followed by its bytes,
 * so that no key ever signs bytes a peer chose without this prefix and a
 * signature for one purpose never verifies for another.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>
#include "slice.h"

G_BEGIN_DECLS

#define CHATD_DOMAIN_PREFIX      "chatd/1/"
#define CHATD_PURPOSE_MAX        48       /* [a-z0-9-]{1,48} */
#define CHATD_DOMAIN_FIELDS_MAX  64
#define CHATD_DOMAIN_MESSAGE_MAX (sizeof CHATD_DOMAIN_PREFIX - 1 + CHATD_PURPOSE_MAX + 1 + 32)
#define CHATD_DOMAIN_MAC_LEN     32

/* The bytes a suite signs; returns their length (0 with error set on an
 * invalid purpose or too many fields). */
gsize    chatd_domain_message (const char *purpose, const ChatdSlice *fields, gsize n_fields,
                               guint8 ret_message[CHATD_DOMAIN_MESSAGE_MAX], GError **error);

gboolean chatd_domain_sign   (const ChatdKey *key, const char *purpose,
                              const ChatdSlice *fields, gsize n_fields,
                              GBytes **ret_signature, GError **error);
gboolean chatd_domain_verify (const ChatdKey *key, const char *purpose,
                              const ChatdSlice *fields, gsize n_fields,
                              const guint8 *signature, gsize signature_len,
                              GError **error);

/* HMAC-SHA256 keyed by key over the same message. */
gboolean chatd_domain_mac        (const guint8 *key, gsize key_len, const char *purpose,
                                  const ChatdSlice *fields, gsize n_fields,
                                  guint8 ret_mac[CHATD_DOMAIN_MAC_LEN], GError **error);
/* Compares in constant time; a mismatch is CHATD_ERROR_REFUSED. */
gboolean chatd_domain_mac_verify (const guint8 *key, gsize key_len, const char *purpose,
                                  const ChatdSlice *fields, gsize n_fields,
                                  const guint8 *mac, gsize mac_len, GError **error);

G_END_DECLS
