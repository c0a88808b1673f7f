/* keyblob.h: the common envelope of key blobs (doc/protocol.md, "Crypto
 * suites"): magic "CHDK", format version 1, kind, suite name, body length,
 * body.  Each suite defines its body.  Shared by the core and the suite
 * plugins.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

G_BEGIN_DECLS

#define CHATD_KEYBLOB_MAGIC    "CHDK"
#define CHATD_KEYBLOB_VERSION  1
#define CHATD_KEYBLOB_KIND_PUBLIC  0x01
#define CHATD_KEYBLOB_KIND_PRIVATE 0x02

/* Bytes of the envelope around a body, for a suite name of name_len. */
#define CHATD_KEYBLOB_OVERHEAD(name_len) (4 + 1 + 1 + 1 + (name_len) + 2)

/* Checks the envelope and returns the body (pointing into blob).  Refuses,
 * with a message naming the problem: a blob shorter than its envelope or
 * its declared body (truncated), longer than that or than
 * CHATD_KEY_BLOB_MAX (oversized), a wrong magic, version or kind, a blob
 * of another suite. */
gboolean chatd_keyblob_parse (const guint8 *blob, gsize len,
                              const char *suite_name, ChatdKeyKind kind,
                              const guint8 **ret_body, gsize *ret_body_len,
                              GError **error);

/* Writes the envelope and body into out (out_len must be large enough:
 * CHATD_KEYBLOB_OVERHEAD (strlen (suite_name)) + body_len). */
gboolean chatd_keyblob_write (const char *suite_name, ChatdKeyKind kind,
                              const guint8 *body, gsize body_len,
                              guint8 *out, gsize out_len, gsize *ret_len,
                              GError **error);

/* A public blob as GBytes. */
GBytes  *chatd_keyblob_new_public (const char *suite_name,
                                   const guint8 *body, gsize body_len);

/* SHA-256 of a public blob. */
void     chatd_keyblob_fingerprint (GBytes *public_blob,
                                    guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN]);

G_END_DECLS
