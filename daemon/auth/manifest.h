/* manifest.h: the signed list of online users that the server hands out
 * (at login, and for `list`).  Layout in doc/protocol.md, "Manifest". */
#pragma once
#include <gio/gio.h>

#define CHATD_MANIFEST_USERS_MAX 10000
#define CHATD_MANIFEST_NONCE_LEN 32

typedef struct {
  char   *name;
  char   *address;     /* HOST:PORT where the user's node is reached */
  char   *suite;
  GBytes *public_key;  /* the user's public key blob */
  gint64  since;       /* unix seconds: online since */
} ChatdManifestEntry;

typedef struct _ChatdManifest {
  gint64     issued_at;   /* unix seconds */
  gint64     expires_at;
  guint8     nonce[CHATD_MANIFEST_NONCE_LEN];  /* the requester's nonce: no replay */
  GPtrArray *entries;     /* ChatdManifestEntry* */
} ChatdManifest;

ChatdManifest *chatd_manifest_new    (gint64 issued_at, gint64 lifetime, const guint8 *nonce);
void           chatd_manifest_add    (ChatdManifest *manifest, const char *name, const char *address,
                                      const char *suite, GBytes *public_key, gint64 since);
void           chatd_manifest_free   (ChatdManifest *manifest);
GBytes        *chatd_manifest_encode (const ChatdManifest *manifest);
ChatdManifest *chatd_manifest_decode (const guint8 *data, gsize len, GError **error);
/* aa{sv} for chatctl: name, address, suite, fingerprint, since (ISO 8601) */
GVariant      *chatd_manifest_to_variant (const ChatdManifest *manifest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdManifest, chatd_manifest_free)
