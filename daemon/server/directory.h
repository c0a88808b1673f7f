/* directory.h: the server's directory in its state directory: the server
 * identity (server.key, server.pub, server.secret) and a SQLite database of
 * users and one-time enrolment tokens (doc/protocol.md, "Server directory").
 *
 * Every function runs on the main loop; the slow ones (key generation and
 * Argon2id) are async and do their work in a GTask thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include "login-record.h"

#include <gio/gio.h>
#include "chatd-crypto.h"
#include "registry.h"

G_BEGIN_DECLS

#define CHATD_DIRECTORY_DEFAULT_SUITE     "25519"
#define CHATD_DIRECTORY_DB_FILE           "directory.db"
#define CHATD_DIRECTORY_KEY_FILE          "server.key"
#define CHATD_DIRECTORY_PUB_FILE          "server.pub"
#define CHATD_DIRECTORY_SECRET_FILE       "server.secret"
#define CHATD_DIRECTORY_SECRET_LEN        32
/* one-time enrolment tokens: 16 random bytes, given to people as 32 hex digits */
#define CHATD_ENROL_TOKEN_LEN             16
#define CHATD_ENROL_TOKEN_TEXT_LEN        (2 * CHATD_ENROL_TOKEN_LEN)
#define CHATD_DIRECTORY_TOKEN_LIFETIME    (24 * 60 * 60)          /* seconds */
#define CHATD_DIRECTORY_KEY_RECORD_LIFETIME (7 * 24 * 60 * 60)    /* seconds */
/* registered users plus pending enrolments */
#define CHATD_DIRECTORY_USERS_MAX         100000
/* a password handed to useradd --password-stdin */
#define CHATD_DIRECTORY_PASSWORD_MAX      1024

typedef struct {
  ChatdKdfParams kdf;                 /* for server-made keys and fake records */
  gint64         token_lifetime;      /* seconds */
  gint64         key_record_lifetime; /* seconds */
  const char    *user_suite;          /* suite of server-made user keys (seed, useradd
                                       * --password-stdin); NULL: the default; borrowed */
} ChatdDirectoryConfig;

/* The defaults: CHATD_KDF_DEFAULT_PARAMS and the lifetimes above. */
void chatd_directory_config_init (ChatdDirectoryConfig *config);

typedef struct _ChatdDirectory ChatdDirectory;

typedef struct {
  char   *name;                 /* as registered */
  char   *suite;
  GBytes *public_key;           /* the suite's public blob */
  guint8  fingerprint[CHATD_FINGERPRINT_LEN];
  GBytes *wrapped_key;          /* CHATD_WRAP_BLOB_LEN bytes */
  gint64  created;              /* unix seconds */
} ChatdDirectoryUser;

void chatd_directory_user_free (ChatdDirectoryUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdDirectoryUser, chatd_directory_user_free)

/* A name with a token issued and not yet used. */
typedef struct {
  char   *name;
  gint64  created;
  gint64  expires;
} ChatdDirectoryPending;

void chatd_directory_pending_free (ChatdDirectoryPending *pending);

/* ChatdLoginRecord: see auth/login-record.h */


/* Opens the directory in state_dir (a private directory): loads the server
 * identity if present, refusing a damaged, incomplete or unprotected one,
 * and opens (creating, migrating) the database.  registry is borrowed and
 * must outlive the directory: it gives the suites. */
ChatdDirectory *chatd_directory_open (const char *state_dir, const ChatdDirectoryConfig *config,
                                      ChatdRegistry *registry, GError **error);
void            chatd_directory_free (ChatdDirectory *directory);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdDirectory, chatd_directory_free)

const ChatdDirectoryConfig *chatd_directory_get_config (ChatdDirectory *directory);
/* The database, for the offline queue's tables (offline-queue.h). */
typedef struct _ChatdStore ChatdStore;
ChatdStore *chatd_directory_get_store (ChatdDirectory *directory);

/* ---- the server identity (server-identity.c) ---- */

/* Creates server.key, server.pub and server.secret (suite 25519) when none
 * of them exists; never replaces them.  ret_created may be NULL. */
gboolean        chatd_directory_ensure_identity (ChatdDirectory *directory,
                                                 gboolean *ret_created, GError **error);
/* NULL until the identity exists (before the first seed). */
const ChatdKey *chatd_directory_get_server_key  (ChatdDirectory *directory);
GBytes         *chatd_directory_get_server_public (ChatdDirectory *directory);
/* "3f2a 9b1c ..." or NULL */
char           *chatd_directory_get_server_fingerprint (ChatdDirectory *directory);
/* The 32-byte server secret, or NULL. */
const guint8   *chatd_directory_get_server_secret (ChatdDirectory *directory);

/* ---- users (directory.c) ---- */

/* Issues a one-time enrolment token for a new name (refused if the name is
 * registered or has an unused, unexpired token).  ret_token: 32 hex digits,
 * stored only as its SHA-256. */
gboolean chatd_directory_add_enrolment (ChatdDirectory *directory, const char *name, gint64 now,
                                        char **ret_token, gint64 *ret_expires, GError **error);
/* Registers a user that enrolled from their own node.  Checks, before any
 * change: the name, the suite and that public_key imports with it, the
 * wrapped blob's fixed length, header and KDF parameters (within the cap).
 * Then the token: a wrong, used or expired token (or none issued) is
 * CHATD_ERROR_REFUSED, one message for all, and changes nothing. */
gboolean chatd_directory_enroll (ChatdDirectory *directory, const char *name, const char *token,
                                 const char *suite_name, GBytes *public_key, GBytes *wrapped_key,
                                 gint64 now, GError **error);
/* What a presented token is for a name, to explain a refused enrolment to
 * the holder of the right token (and only to them: to anyone else every
 * refusal reads the same, so names cannot be probed).  NONE: no enrolment
 * was ever issued for the name; WRONG: one was, with another token. */
typedef enum {
  CHATD_TOKEN_NONE,
  CHATD_TOKEN_WRONG,
  CHATD_TOKEN_VALID,
  CHATD_TOKEN_USED,
  CHATD_TOKEN_EXPIRED,
} ChatdTokenState;

gboolean chatd_directory_token_state (ChatdDirectory *directory, const char *name, const char *token,
                                      gint64 now, ChatdTokenState *ret_state, gint64 *ret_expires,
                                      GError **error);
/* passwd: replaces a registered user's wrapped key with one re-wrapped on
 * the user's node (the caller has authenticated the user).  The blob gets
 * the enrolment checks (fixed length, header, KDF parameters within the cap
 * and at least the server's); the public key stays.  NOT_FOUND for an
 * unknown name. */
gboolean chatd_directory_set_wrapped_key (ChatdDirectory *directory, const char *name,
                                          GBytes *wrapped_key, GError **error);
/* Deletes a user and any enrolment of that name; NOT_FOUND if neither. */
gboolean chatd_directory_delete_user (ChatdDirectory *directory, const char *name, GError **error);
/* Registered users sorted by name (case-insensitively). */
GPtrArray *chatd_directory_list_users (ChatdDirectory *directory, GError **error);
/* Unused enrolments that have not expired. */
GPtrArray *chatd_directory_list_pending (ChatdDirectory *directory, gint64 now, GError **error);
/* NOT_FOUND for an unknown name. */
gboolean chatd_directory_get_user (ChatdDirectory *directory, const char *name,
                                   ChatdDirectoryUser **ret_user, GError **error);
/* Inserts a user made on the server (seed, useradd --password-stdin);
 * replace: overwrite an existing one, else EXISTS. */
gboolean chatd_directory_store_user (ChatdDirectory *directory, const ChatdDirectoryUser *user,
                                     gboolean replace, GError **error);

/* ---- server-made keys (directory-seed.c) ---- */

/* Creates the server identity if absent and the demo users Alice, Bob,
 * Charlie and Eve (passwords equal to their names); existing users are kept
 * unless force.  The result (seed_finish) is an a{sv}: server-key
 * ("created" or "kept"), server-fingerprint, created, kept, replaced (as). */
void      chatd_directory_seed_async  (ChatdDirectory *directory, gboolean force,
                                       GAsyncReadyCallback callback, gpointer user_data);
GVariant *chatd_directory_seed_finish (GAsyncResult *result, GError **error);

/* Makes a key pair for a new user and wraps it with password.  The result
 * is the new user. */
void      chatd_directory_add_user_with_password_async  (ChatdDirectory *directory,
                                                         const char *name,
                                                         const guint8 *password, gsize password_len,
                                                         GAsyncReadyCallback callback,
                                                         gpointer user_data);
ChatdDirectoryUser *chatd_directory_add_user_with_password_finish (GAsyncResult *result,
                                                                   GError **error);

/* ---- login protocol (login-record.c) ---- */

/* The record of a registered name, or a fake one derived from the server
 * secret for an unknown name: same lengths and header shape, stable per
 * name, with about the same work either way.  Fails only without an
 * identity or on a database error. */
gboolean chatd_directory_login_record (ChatdDirectory *directory, const char *name,
                                       ChatdLoginRecord **ret_record, GError **error);
/* The fake record alone (what an unknown name gets). */
gboolean chatd_directory_fake_login_record (ChatdDirectory *directory, const char *name,
                                            ChatdLoginRecord **ret_record, GError **error);

/* ---- key records (key-record.h) ---- */

/* A key record for a registered user, issued now, signed by the server key. */
gboolean chatd_directory_key_record (ChatdDirectory *directory, const char *name, gint64 now,
                                     GBytes **ret_record, GError **error);

/* What the user's node declared it speaks (space-separated feature names,
 * at most CHATD_KEY_RECORD_FEATURES_MAX, "" for none): stored, and signed
 * into the user's key records from then on. */
gboolean chatd_directory_set_features (ChatdDirectory *directory, const char *name,
                                       const char *features, GError **error);
gboolean chatd_directory_get_features (ChatdDirectory *directory, const char *name,
                                       char **ret_features, GError **error);

/* Name folded for comparison and storage keys: ASCII lower case. */
char    *chatd_directory_fold_name (const char *name);

G_END_DECLS
