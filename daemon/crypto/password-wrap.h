/* password-wrap.h: a user's private key wrapped by a password, for the
 * server-held key blobs: Argon2id (random per-user salt, parameters stored
 * in the blob) then AES-256-GCM with the user name and suite as associated
 * data, into a blob of fixed length whatever the suite (doc/protocol.md,
 * "Password-wrapped private keys").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>
#include "argon2.h"
#include "secret.h"

G_BEGIN_DECLS

#define CHATD_WRAP_MAGIC        "CHDW"
#define CHATD_WRAP_VERSION      1
#define CHATD_WRAP_SALT_LEN     16
#define CHATD_WRAP_HEADER_LEN   (4 + 1 + 3 * 4 + CHATD_WRAP_SALT_LEN + 12)   /* 45 */
#define CHATD_WRAP_PAYLOAD_LEN  2048     /* u16 length || private blob || zero padding */
#define CHATD_WRAP_BLOB_LEN     (CHATD_WRAP_HEADER_LEN + CHATD_WRAP_PAYLOAD_LEN + 16) /* 2109 */
#define CHATD_WRAP_PRIVATE_MAX  (CHATD_WRAP_PAYLOAD_LEN - 2)
#define CHATD_WRAP_USER_MAX     255

/* Wraps private_blob (a suite's private key blob) for user.  ret_wrapped is
 * exactly CHATD_WRAP_BLOB_LEN bytes. */
/* An empty password is refused. */
gboolean chatd_password_wrap   (const char *user, const char *suite_name,
                                const guint8 *password, gsize password_len,
                                const ChatdKdfParams *params,
                                const guint8 *private_blob, gsize private_blob_len,
                                GBytes **ret_wrapped, GError **error);

/* Refuses parameters above the cap before any work; a wrong password, user
 * or suite, or a damaged blob is CHATD_ERROR_REFUSED and gives nothing. */
gboolean chatd_password_unwrap (const char *user, const char *suite_name,
                                const guint8 *password, gsize password_len,
                                const guint8 *wrapped, gsize wrapped_len,
                                ChatdSecret **ret_private_blob, GError **error);

/* A decoy for a user name that does not exist: a blob of the same length
 * and header, with the given parameters, whose salt, nonce, ciphertext and
 * tag are HKDF-SHA256(salt = server_secret, IKM = user,
 * info = "chatd/1/wrap-decoy"): stable per name, indistinguishable from a
 * real blob without the server secret, and never unwrappable. */
gboolean chatd_password_wrap_decoy (const guint8 *server_secret, gsize server_secret_len,
                                    const char *user, const ChatdKdfParams *params,
                                    GBytes **ret_wrapped, GError **error);

/* The parameters stored in a wrapped blob (not checked against the cap). */
gboolean chatd_password_wrapped_params (const guint8 *wrapped, gsize wrapped_len,
                                        ChatdKdfParams *ret_params, GError **error);

/* The same for a key handle: export, wrap; unwrap, import with suite. */
gboolean chatd_password_wrap_key   (const char *user, const ChatdKey *key,
                                    const guint8 *password, gsize password_len,
                                    const ChatdKdfParams *params,
                                    GBytes **ret_wrapped, GError **error);
gboolean chatd_password_unwrap_key (const char *user, const ChatdSuite *suite,
                                    const guint8 *password, gsize password_len,
                                    const guint8 *wrapped, gsize wrapped_len,
                                    ChatdKey **ret_key, GError **error);

G_END_DECLS
