/* suite.h: the crypto suite interface of chatd.
 *
 * A suite is a static const ChatdSuite descriptor that a plugin hands to
 * host->add_suite.  The daemon (auth core, messaging) calls cryptography only
 * through `const ChatdSuite *` and the ChatdKey handles a suite makes, so it
 * never names an algorithm.  What a suite provides is data (caps); the
 * function pointers a capability needs must be set, the others may be NULL.
 *
 * Conventions for every function below:
 *  - errors are CHATD_ERROR: CHATD_ERROR_INVALID_ARGUMENT for malformed input
 *    (a truncated, oversized or garbage key blob, a key of another suite),
 *    CHATD_ERROR_REFUSED for a failed check (bad signature, a sealed message
 *    or AEAD ciphertext that does not authenticate, a low-order X25519 share);
 *  - output parameters (ret_*) are written only on success; output buffers
 *    handed in by the caller are wiped on failure (no partial plaintext);
 *  - functions taking a ChatdKey refuse a key whose key->suite is another
 *    suite;
 *  - keys are exchanged as blobs in the versioned form of doc/protocol.md
 *    ("Crypto suites"): magic "CHDK", format version, kind, suite name, body.
 *
 * Changing this header incompatibly bumps CHATD_PLUGIN_ABI_VERSION.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/chatd-plugin.h>
#include <stddef.h>

G_BEGIN_DECLS

#define CHATD_SUITE_NAME_MAX     32     /* [a-z0-9-]{1,32} */
#define CHATD_KEY_BLOB_MAX       4096   /* any key blob, public or private */
#define CHATD_FINGERPRINT_LEN    32     /* SHA-256 of the public key blob */
#define CHATD_SUITE_SHARE_MAX    64     /* bound on kx_*_len and aead_*_len */
/* sign and verify take at most this many bytes (the core signs short
 * domain-separated digests, see chatd_domain_sign; libgcrypt cannot take an
 * S-expression value of 64 KiB or more); longer input is refused */
#define CHATD_SIGN_MESSAGE_MAX   16384

/* What a suite provides. */
typedef enum {
  CHATD_SUITE_CAN_SIGN         = 1 << 0,  /* sign / verify with its keys */
  CHATD_SUITE_CAN_SEAL         = 1 << 1,  /* seal to a public key / open with the private key */
  CHATD_SUITE_CAN_KEY_EXCHANGE = 1 << 2,  /* ephemeral Diffie-Hellman for channels */
  CHATD_SUITE_CAN_AEAD         = 1 << 3,  /* symmetric AEAD for channels */
  /* Added later, backward compatible: the fields these two need sit at the
   * end of ChatdSuite and are read only when the bit is set, so a suite
   * built against the older header (whose descriptor ends at n_kats) never
   * has them read. */
  CHATD_SUITE_CAN_KDF          = 1 << 4,  /* hash, MAC and KDF for key schedules */
  CHATD_SUITE_CAN_AEAD_CONTEXT = 1 << 5,  /* an AEAD keyed once, reused per packet (needs CAN_AEAD) */
} ChatdSuiteCaps;

#define CHATD_SUITE_CAPS_ALL (CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL | \
                              CHATD_SUITE_CAN_KEY_EXCHANGE | CHATD_SUITE_CAN_AEAD | \
                              CHATD_SUITE_CAN_KDF | CHATD_SUITE_CAN_AEAD_CONTEXT)

/* bound on kdf_len (the hash, MAC and pseudo-random key length) */
#define CHATD_SUITE_KDF_LEN_MAX  64
/* bound on one kdf() output */
#define CHATD_SUITE_KDF_OUTPUT_MAX 1024

/* An AEAD keyed once (CAN_AEAD_CONTEXT): the suite defines the structure. */
typedef struct _ChatdAeadContext ChatdAeadContext;

typedef enum {
  CHATD_KEY_PUBLIC  = 1,
  CHATD_KEY_PRIVATE = 2,   /* holds the public half too */
} ChatdKeyKind;

/* A key handle.  A suite allocates a larger structure whose first member is
 * this one; only the suite that made it looks past these two fields. */
typedef struct _ChatdKey ChatdKey;
struct _ChatdKey {
  const ChatdSuite *suite;
  ChatdKeyKind      kind;
};

/* Known-answer vectors: a byte string in the descriptor's static data. */
typedef struct {
  const guint8 *data;
  gsize         len;
} ChatdKatBytes;

#define CHATD_KAT_BYTES(array) { (array), sizeof (array) }
#define CHATD_KAT_STRING(str)  { (const guint8 *) (str), sizeof (str) - 1 }

typedef enum {
  /* key: private key blob; input: message; output: signature.
   * verify(key, input, output) must hold, and fail with one bit of output
   * flipped; if deterministic, sign(key, input) must equal output. */
  CHATD_KAT_SIGN = 1,
  /* key: private key blob; aad; input: sealed bytes; output: plaintext.
   * open must give output, and fail with one bit of input flipped. */
  CHATD_KAT_OPEN,
  /* key: own secret; public_share: own public share; peer: peer's share;
   * output: the shared secret. */
  CHATD_KAT_KEY_EXCHANGE,
  /* key; nonce; aad; input: plaintext; output: ciphertext || tag.
   * aead_seal must give output and aead_open must give input back. */
  CHATD_KAT_AEAD,
  /* CAN_KDF. input: message; output: hash (kdf_len bytes). */
  CHATD_KAT_HASH,
  /* CAN_KDF. key; input: message; output: MAC (kdf_len bytes). */
  CHATD_KAT_MAC,
  /* CAN_KDF. key: input keying material; nonce: salt; aad: info;
   * output: the derived bytes (their length is asked for). */
  CHATD_KAT_KDF,
} ChatdKatKind;

typedef struct {
  ChatdKatKind  kind;
  const char   *name;          /* where the vector comes from, e.g. "RFC 8032 7.1 test 2" */
  ChatdKatBytes key;
  ChatdKatBytes nonce;
  ChatdKatBytes peer;
  ChatdKatBytes public_share;
  ChatdKatBytes aad;
  ChatdKatBytes input;
  ChatdKatBytes output;
  gboolean      deterministic;
} ChatdSuiteKat;

struct _ChatdSuite {
  const char     *name;         /* FIRST member: the registry reads it */
  const char     *description;  /* one line for people */
  ChatdSuiteCaps  caps;

  /* ---- keys: needed by CAN_SIGN and CAN_SEAL ---- */

  /* bits: 0 for the suite's default strength, else a size the suite accepts */
  ChatdKey *(*generate)       (const ChatdSuite *suite, guint bits, GError **error);
  void      (*key_free)       (ChatdKey *key);   /* wipes secret parts */
  /* public blob of a public or private key */
  GBytes   *(*export_public)  (const ChatdKey *key, GError **error);
  /* private blob, written into the caller's buffer (which should be
   * secure memory) of out_len >= private_blob_max bytes */
  gboolean  (*export_private) (const ChatdKey *key, guint8 *out, gsize out_len,
                               gsize *ret_len, GError **error);
  ChatdKey *(*import_public)  (const ChatdSuite *suite, const guint8 *blob, gsize len,
                               GError **error);
  ChatdKey *(*import_private) (const ChatdSuite *suite, const guint8 *blob, gsize len,
                               GError **error);
  /* SHA-256 of the public blob */
  gboolean  (*fingerprint)    (const ChatdKey *key, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                               GError **error);
  gsize     private_blob_max;   /* largest private blob this suite writes */

  /* ---- CAN_SIGN: signatures over the exact bytes given (the core adds the
   * domain-separation prefix, see chatd_domain_sign) ---- */
  GBytes   *(*sign)   (const ChatdKey *key, const guint8 *msg, gsize msg_len, GError **error);
  gboolean  (*verify) (const ChatdKey *key, const guint8 *msg, gsize msg_len,
                       const guint8 *sig, gsize sig_len, GError **error);

  /* ---- CAN_SEAL: hybrid encryption to a public key, with associated data
   * that is authenticated but not carried in the sealed bytes ---- */
  GBytes   *(*seal) (const ChatdKey *recipient, const guint8 *aad, gsize aad_len,
                     const guint8 *plaintext, gsize plaintext_len, GError **error);
  GBytes   *(*open) (const ChatdKey *key, const guint8 *aad, gsize aad_len,
                     const guint8 *sealed, gsize sealed_len, GError **error);

  /* ---- CAN_KEY_EXCHANGE: any kx_secret_len bytes (random, or derived
   * with HKDF) are a valid secret; a shared secret that is all zero (a
   * low-order peer share) is refused ---- */
  gsize     kx_secret_len;
  gsize     kx_public_len;
  gsize     kx_shared_len;
  gboolean  (*kx_public) (const guint8 *secret, guint8 *ret_public, GError **error);
  gboolean  (*kx_shared) (const guint8 *secret, const guint8 *peer_public, gsize peer_len,
                          guint8 *ret_shared, GError **error);

  /* ---- CAN_AEAD: ret_ciphertext has room for plaintext_len + aead_tag_len
   * bytes; ret_plaintext for ciphertext_len - aead_tag_len bytes ---- */
  gsize     aead_key_len;
  gsize     aead_nonce_len;
  gsize     aead_tag_len;
  gboolean  (*aead_seal) (const guint8 *key, const guint8 *nonce,
                          const guint8 *aad, gsize aad_len,
                          const guint8 *plaintext, gsize plaintext_len,
                          guint8 *ret_ciphertext, GError **error);
  gboolean  (*aead_open) (const guint8 *key, const guint8 *nonce,
                          const guint8 *aad, gsize aad_len,
                          const guint8 *ciphertext, gsize ciphertext_len,
                          guint8 *ret_plaintext, GError **error);

  /* ---- known-answer vectors, run when the suite registers; at least one
   * per capability ---- */
  const ChatdSuiteKat *kats;
  gsize                n_kats;

  /* ---- CAN_KDF (read only when the bit is set): key schedules of
   * channels and peer sessions.  kdf_len is the length of a hash, a MAC and
   * an extracted key.  kdf is extract-then-expand (HKDF-like: salt may be
   * empty, info binds the purpose); okm_len <= CHATD_SUITE_KDF_OUTPUT_MAX.
   * mac keys may have any length. ---- */
  gsize     kdf_len;
  gboolean  (*hash) (const guint8 *data, gsize len, guint8 *ret_digest, GError **error);
  gboolean  (*mac)  (const guint8 *key, gsize key_len, const guint8 *data, gsize len,
                     guint8 *ret_mac, GError **error);
  gboolean  (*kdf)  (const guint8 *salt, gsize salt_len, const guint8 *ikm, gsize ikm_len,
                     const guint8 *info, gsize info_len, guint8 *ret_okm, gsize okm_len,
                     GError **error);

  /* ---- CAN_AEAD_CONTEXT (read only when the bit is set; needs
   * CAN_AEAD): the same AEAD as aead_seal / aead_open, keyed once with
   * aead_key_len bytes and reused with a fresh nonce per call, so that a
   * channel does not set up a cipher per packet.  context_set_key re-keys
   * a context in place (a key per message, as a ratchet makes them, without
   * a new cipher each time).  A context is used by one thread at a time;
   * context_free wipes it.  Every AEAD vector also runs through a context,
   * made with another key and re-keyed. ---- */
  ChatdAeadContext *(*aead_context_new)     (const guint8 *key, GError **error);
  void              (*aead_context_free)    (ChatdAeadContext *context);
  gboolean          (*aead_context_set_key) (ChatdAeadContext *context, const guint8 *key,
                                             GError **error);
  gboolean          (*aead_context_seal) (ChatdAeadContext *context, const guint8 *nonce,
                                          const guint8 *aad, gsize aad_len,
                                          const guint8 *plaintext, gsize plaintext_len,
                                          guint8 *ret_ciphertext, GError **error);
  gboolean          (*aead_context_open) (ChatdAeadContext *context, const guint8 *nonce,
                                          const guint8 *aad, gsize aad_len,
                                          const guint8 *ciphertext, gsize ciphertext_len,
                                          guint8 *ret_plaintext, GError **error);
};

/* The ABI rule for capability blocks.  A suite built against an older
 * header has a shorter descriptor; the core reads the fields of a block
 * only when the suite sets its capability bit.  So, once released:
 *  - a capability bit's block of fields is frozen: never reorder, resize,
 *    insert into or remove from it (change it only with a new bit and a new
 *    block, or by bumping CHATD_PLUGIN_ABI_VERSION);
 *  - a new capability appends its block after the last one and extends the
 *    checks below.
 * The checks pin each late block's fields to follow one another and the
 * blocks to follow n_kats (the end of the original descriptor). */
#define CHATD_SUITE_FIELD_AFTER_(prev, next) \
  G_STATIC_ASSERT (offsetof (ChatdSuite, next) == offsetof (ChatdSuite, prev) + sizeof (gpointer))
G_STATIC_ASSERT (sizeof (gsize) == sizeof (gpointer));
/* the original descriptor ends at n_kats */
CHATD_SUITE_FIELD_AFTER_ (kats, n_kats);
/* CAN_KDF (frozen) */
CHATD_SUITE_FIELD_AFTER_ (n_kats, kdf_len);
CHATD_SUITE_FIELD_AFTER_ (kdf_len, hash);
CHATD_SUITE_FIELD_AFTER_ (hash, mac);
CHATD_SUITE_FIELD_AFTER_ (mac, kdf);
/* CAN_AEAD_CONTEXT (frozen) */
CHATD_SUITE_FIELD_AFTER_ (kdf, aead_context_new);
CHATD_SUITE_FIELD_AFTER_ (aead_context_new, aead_context_free);
CHATD_SUITE_FIELD_AFTER_ (aead_context_free, aead_context_set_key);
CHATD_SUITE_FIELD_AFTER_ (aead_context_set_key, aead_context_seal);
CHATD_SUITE_FIELD_AFTER_ (aead_context_seal, aead_context_open);
/* the last block ends the descriptor (a new block goes after it) */
G_STATIC_ASSERT (sizeof (ChatdSuite) == offsetof (ChatdSuite, aead_context_open) + sizeof (gpointer));

static inline gboolean
chatd_suite_has (const ChatdSuite *suite, ChatdSuiteCaps caps)
{
  return suite != NULL && (suite->caps & caps) == caps;
}

static inline void
chatd_key_free (ChatdKey *key)
{
  if (key != NULL)
    key->suite->key_free (key);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdKey, chatd_key_free)

G_END_DECLS
