/* fingerprint.h: key fingerprints for people.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

G_BEGIN_DECLS

/* SHA-256 of the key's public blob, through its suite. */
gboolean chatd_key_fingerprint (const ChatdKey *key,
                                guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                                GError **error);

/* Lower-case hex in 16 groups of 4, separated by spaces:
 * "3f2a 9b1c ... 77e0" (79 characters). */
char    *chatd_fingerprint_to_string (const guint8 fingerprint[CHATD_FINGERPRINT_LEN]);

/* Parses 64 hex digits, ignoring spaces, colons and dashes between them
 * (what chatd_fingerprint_to_string writes, or a plain hex string), case
 * insensitive.  Anything else is CHATD_ERROR_INVALID_ARGUMENT. */
gboolean chatd_fingerprint_parse     (const char *text,
                                      guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                                      GError **error);

G_END_DECLS
