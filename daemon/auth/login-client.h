/* login-client.h: a user node's side of the login, without sockets: it
 * answers the server's messages one by one until the session is set up. */
#pragma once
#include "auth-message.h"
#include "channel.h"
#include "login-server.h"
#include "manifest.h"

typedef struct {
  const char       *user;
  const guint8     *password;         /* caller's (secure) memory, for the client's lifetime */
  gsize             password_len;
  const ChatdSuite *channel_suite;    /* key exchange + AEAD */
  ChatdSuiteLookup  suite_lookup;     /* the user key's suite, by name */
  gpointer          user_data;
  GBytes           *pinned_server_key;   /* NULL: take the one offered (trust on first use) */
  guint64           pow_max_tries;       /* bound on the proof of work; 0: 2^26 */
} ChatdLoginClientConfig;

typedef struct _ChatdLoginClient ChatdLoginClient;

typedef enum {
  CHATD_LOGIN_CLIENT_SEND,     /* send *ret_message and wait for the next */
  CHATD_LOGIN_CLIENT_DONE,     /* logged in: take the channel, the key and the manifest */
  CHATD_LOGIN_CLIENT_FAILED,   /* error says why; send *ret_message (FAILED) if set */
} ChatdLoginClientOutcome;

/* CHATD_ERROR_REFUSED for "login failed" (wrong password or unknown user: the
 * same to us), a changed server key (names both fingerprints), a bad server
 * signature or confirmation; CHATD_ERROR_NOT_SUPPORTED for parameters above
 * our cap. */
ChatdLoginClient       *chatd_login_client_new    (const ChatdLoginClientConfig *config, GError **error);
void                    chatd_login_client_free   (ChatdLoginClient *client);
GBytes                 *chatd_login_client_hello  (ChatdLoginClient *client);
ChatdLoginClientOutcome chatd_login_client_handle (ChatdLoginClient *client,
                                                   const ChatdAuthMessage *message,
                                                   GBytes **ret_message, GError **error);
/* After DONE */
ChatdChannel  *chatd_login_client_take_channel  (ChatdLoginClient *client);
ChatdKey      *chatd_login_client_take_user_key (ChatdLoginClient *client);
ChatdManifest *chatd_login_client_take_manifest (ChatdLoginClient *client);
/* The server key offered in the challenge (to pin it after the first login) */
GBytes        *chatd_login_client_get_server_key (ChatdLoginClient *client);
const char    *chatd_login_client_get_registered_name (ChatdLoginClient *client);
/* After DONE: the Argon2id parameters of the user's wrapped key */
ChatdKdfParams chatd_login_client_get_kdf_params (ChatdLoginClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdLoginClient, chatd_login_client_free)
