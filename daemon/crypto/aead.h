/* aead.h: one-shot AEAD (AES-256-GCM, ChaCha20-Poly1305) on libgcrypt,
 * 32-byte keys, 12-byte nonces, 16-byte tags appended to the ciphertext.
 * Shared by the core and the suite plugins.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_AEAD_KEY_LEN   32
#define CHATD_AEAD_NONCE_LEN 12
#define CHATD_AEAD_TAG_LEN   16

typedef enum {
  CHATD_AEAD_AES256_GCM = 1,
  CHATD_AEAD_CHACHA20_POLY1305,
} ChatdAeadAlgorithm;

/* ret_ciphertext: plaintext_len + 16 bytes (ciphertext || tag). */
gboolean chatd_aead_encrypt (ChatdAeadAlgorithm algorithm,
                             const guint8 *key, const guint8 *nonce,
                             const guint8 *aad, gsize aad_len,
                             const guint8 *plaintext, gsize plaintext_len,
                             guint8 *ret_ciphertext, GError **error);

/* ret_plaintext: ciphertext_len - 16 bytes, wiped unless the tag checks out.
 * A bad tag is CHATD_ERROR_REFUSED. */
gboolean chatd_aead_decrypt (ChatdAeadAlgorithm algorithm,
                             const guint8 *key, const guint8 *nonce,
                             const guint8 *aad, gsize aad_len,
                             const guint8 *ciphertext, gsize ciphertext_len,
                             guint8 *ret_plaintext, GError **error);

/* An AEAD keyed once and reused with a fresh nonce per call: one libgcrypt
 * cipher handle (in secure memory), instead of one per packet. */
typedef struct _ChatdAeadContext ChatdAeadContext;

ChatdAeadContext *chatd_aead_context_new     (ChatdAeadAlgorithm algorithm, const guint8 *key,
                                              GError **error);
void              chatd_aead_context_free    (ChatdAeadContext *context);   /* wipes the key */
/* Replaces the key (CHATD_AEAD_KEY_LEN bytes) without a new cipher handle. */
gboolean          chatd_aead_context_set_key (ChatdAeadContext *context, const guint8 *key,
                                              GError **error);
/* As chatd_aead_encrypt / chatd_aead_decrypt with the context's key. */
gboolean          chatd_aead_context_encrypt (ChatdAeadContext *context, const guint8 *nonce,
                                              const guint8 *aad, gsize aad_len,
                                              const guint8 *plaintext, gsize plaintext_len,
                                              guint8 *ret_ciphertext, GError **error);
gboolean          chatd_aead_context_decrypt (ChatdAeadContext *context, const guint8 *nonce,
                                              const guint8 *aad, gsize aad_len,
                                              const guint8 *ciphertext, gsize ciphertext_len,
                                              guint8 *ret_plaintext, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdAeadContext, chatd_aead_context_free)

G_END_DECLS
