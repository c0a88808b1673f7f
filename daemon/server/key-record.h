/* key-record.h: a user's public key as the server vouches for it, so that
 * others can send to the user while the user is offline (doc/protocol.md,
 * "Server directory", key record layout).  Signed with chatd_domain_sign,
 * purpose "key-record".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "chatd-crypto.h"

G_BEGIN_DECLS

#define CHATD_KEY_RECORD_MAGIC      "CHKR"
#define CHATD_KEY_RECORD_VERSION    2   /* written; version 1 (no features) still parses */
/* features: at most this many names of 1..32 bytes ([a-z0-9/.-]) */
#define CHATD_KEY_RECORD_FEATURES_MAX 8
#define CHATD_KEY_RECORD_FEATURE_LEN  32
/* the feature a user node advertises when it speaks forward-secret peer
 * sessions (doc/protocol.md, "Peer session (forward-secret)") */
#define CHATD_FEATURE_PEER_SESSION  "peer-session/1"
#define CHATD_KEY_RECORD_PURPOSE    "key-record"
#define CHATD_KEY_RECORD_SIG_MAX    1024
/* largest encoded record */
#define CHATD_KEY_RECORD_MAX        (4 + 1 + 1 + 32 + 1 + CHATD_SUITE_NAME_MAX + 2 + \
                                     CHATD_KEY_BLOB_MAX + 8 + 8 + \
                                     1 + CHATD_KEY_RECORD_FEATURES_MAX * (1 + CHATD_KEY_RECORD_FEATURE_LEN) + \
                                     2 + CHATD_KEY_RECORD_SIG_MAX)
/* how far in the future issued-at may be (clock skew), in seconds */
#define CHATD_KEY_RECORD_SKEW       300

typedef struct {
  char   *name;         /* as registered */
  char   *suite;
  GBytes *public_key;   /* the suite's public blob */
  gint64  issued_at;    /* unix seconds */
  gint64  expires;      /* unix seconds */
  GStrv   features;     /* version 2: what the user's node speaks, e.g.
                           CHATD_FEATURE_PEER_SESSION; NULL or empty: none
                           (a version 1 record decodes with NULL) */
  guint   version;      /* as decoded; 0 (or 2) encodes version 2, 1 encodes
                           version 1 (no features) */
} ChatdKeyRecord;

void chatd_key_record_free (ChatdKeyRecord *record);
gboolean chatd_key_record_has_feature (const ChatdKeyRecord *record, const char *feature);
/* A feature name: 1..32 bytes of [a-z0-9/.-]. */
gboolean chatd_key_record_feature_is_valid (const char *feature);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdKeyRecord, chatd_key_record_free)

/* Signs record with the server's private key and encodes it. */
gboolean chatd_key_record_sign   (const ChatdKey *server_key, const ChatdKeyRecord *record,
                                  GBytes **ret_encoded, GError **error);
/* Encodes a record with a signature made elsewhere (the layout only). */
gboolean chatd_key_record_encode (const ChatdKeyRecord *record, GBytes *signature,
                                  GBytes **ret_encoded, GError **error);
/* Parses an encoded record without checking its signature (bounds, magic,
 * version, name and suite syntax, exact length). */
gboolean chatd_key_record_decode (const guint8 *data, gsize len, ChatdKeyRecord **ret_record,
                                  GBytes **ret_signature, GError **error);
/* Decodes, checks the signature with the server's (public) key, and the
 * time: issued no later than now + CHATD_KEY_RECORD_SKEW, not expired at
 * now.  A bad signature or an expired record is CHATD_ERROR_REFUSED. */
gboolean chatd_key_record_verify (const ChatdKey *server_key, const guint8 *data, gsize len,
                                  gint64 now, ChatdKeyRecord **ret_record, GError **error);
/* The body of a `users` response: key records as a session field list
 * (session-protocol.h), each verified as above; ret_records holds
 * ChatdKeyRecord*, in order.  The first that does not verify fails all. */
gboolean chatd_key_record_list_verify (const ChatdKey *server_key, const guint8 *data, gsize len,
                                       gint64 now, GPtrArray **ret_records, GError **error);

G_END_DECLS
