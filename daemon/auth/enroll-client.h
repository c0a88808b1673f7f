/* enroll-client.h: a new user's node enrolling with a one-time token
 * (doc/protocol.md, "Enrolment"), without sockets: it learns the server's
 * Argon2id minimum, makes the user's key pair here, wraps the private key
 * with the password here, and registers the public key and the wrapped blob
 * sealed to the server key, with the login's proof of work.  The server never
 * sees the password or the private key. */
#pragma once
#include "auth-message.h"
#include "chatd-crypto.h"
#include "login-server.h"

typedef struct {
  const char       *user;
  const char       *token;              /* 32 hex digits */
  const guint8     *password;           /* caller's (secure) memory, for the client's lifetime */
  gsize             password_len;
  const ChatdSuite *key_suite;          /* the user key's suite (signs) */
  const ChatdSuite *channel_suite;      /* key exchange, as for the login */
  ChatdSuiteLookup  suite_lookup;       /* the server key's suite, by name */
  gpointer          user_data;
  GBytes           *pinned_server_key;  /* NULL: take the one offered (trust on first use) */
  guint64           pow_max_tries;      /* 0: 2^26 */
} ChatdEnrollClientConfig;

typedef struct _ChatdEnrollClient ChatdEnrollClient;

typedef enum {
  CHATD_ENROLL_CLIENT_SEND,     /* send *ret_message and wait for the next */
  CHATD_ENROLL_CLIENT_DONE,     /* registered: log in now */
  CHATD_ENROLL_CLIENT_FAILED,   /* error says why; send *ret_message (FAILED) if set */
} ChatdEnrollClientOutcome;

/* Refuses a malformed token or name before anything is sent. */
ChatdEnrollClient       *chatd_enroll_client_new    (const ChatdEnrollClientConfig *config, GError **error);
void                     chatd_enroll_client_free   (ChatdEnrollClient *client);
/* The first message (ENROLL_QUERY). */
GBytes                  *chatd_enroll_client_start  (ChatdEnrollClient *client);
/* CHATD_ERROR_REFUSED for the server's refusal (its reason in the message),
 * a changed server key or a bad signature; CHATD_ERROR_NOT_SUPPORTED for
 * parameters above our cap. */
ChatdEnrollClientOutcome chatd_enroll_client_handle (ChatdEnrollClient *client,
                                                     const ChatdAuthMessage *message,
                                                     GBytes **ret_message, GError **error);
/* The server key offered in the challenge (to pin after success). */
GBytes     *chatd_enroll_client_get_server_key      (ChatdEnrollClient *client);
/* After DONE: the name as the server registered it. */
const char *chatd_enroll_client_get_registered_name (ChatdEnrollClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdEnrollClient, chatd_enroll_client_free)
