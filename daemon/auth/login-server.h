/* login-server.h: the server's side of the login (DESIGN section 7), without
 * sockets: it takes one parsed message from a connection and answers it.
 * No state is kept for a peer before it has done the proof of work. */
#pragma once
#include "auth-message.h"
#include "channel.h"

#include "login-record.h"

/* name: folded to ASCII lower case */
typedef gboolean (*ChatdLoginLookup) (gpointer user_data, const char *name,
                                      ChatdLoginRecord **ret_record, GError **error);
typedef const ChatdSuite *(*ChatdSuiteLookup) (gpointer user_data, const char *name);

typedef struct {
  const ChatdSuite *channel_suite;   /* key exchange + AEAD */
  const ChatdKey   *server_key;      /* private: signs, opens the sealed name */
  const guint8     *server_secret;   /* 32 bytes: challenge MACs, ephemeral shares */
  guint             pow_bits;        /* base difficulty */
  guint             pow_bits_max;    /* under load it rises up to this */
  guint             hellos_per_second_before_raise;
  guint             attempts_per_minute_per_name;
  guint             attempts_per_minute_per_address;
  ChatdLoginLookup  lookup;
  ChatdSuiteLookup  suite_lookup;
  gpointer          user_data;
  /* the wall clock in microseconds (challenge timestamps); NULL: the real one */
  gint64          (*wall_clock) (void);
} ChatdLoginServerConfig;

typedef struct {
  char         *name;                /* folded to lower case: ask the directory for its spelling */
  char         *suite;
  GBytes       *public_key;
  guint8        client_nonce[32];
  guint8        transcript_hash[32];
  ChatdChannel *channel;             /* the session's keys (responder side) */
} ChatdLoginResult;

void chatd_login_result_free (ChatdLoginResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdLoginResult, chatd_login_result_free)

typedef struct _ChatdLoginServer ChatdLoginServer;

typedef enum {
  CHATD_LOGIN_SERVER_REPLY,    /* send *ret_reply */
  CHATD_LOGIN_SERVER_DONE,     /* logged in: *ret_result; the caller sends WELCOME */
  CHATD_LOGIN_SERVER_REFUSED,  /* send *ret_reply (FAILED) if set; error says why (log it) */
} ChatdLoginServerOutcome;

ChatdLoginServer *chatd_login_server_new  (const ChatdLoginServerConfig *config, GError **error);
void              chatd_login_server_free (ChatdLoginServer *server);
/* conn_id: the transport connection; peer: its address as "IP:PORT" */
ChatdLoginServerOutcome chatd_login_server_handle (ChatdLoginServer *server, guint64 conn_id,
                                                   const char *peer, gint64 now_us,
                                                   const ChatdAuthMessage *message,
                                                   GBytes **ret_reply,
                                                   ChatdLoginResult **ret_result,
                                                   GError **error);
/* The connection went away: forget its half-done login.  Returns the
 * (folded) name whose login was abandoned after the reply, or NULL. */
char    *chatd_login_server_forget   (ChatdLoginServer *server, guint64 conn_id);
/* WELCOME for a finished login: manifest (already encoded), signed, with the
 * key confirmation. */
GBytes  *chatd_login_server_welcome  (ChatdLoginServer *server, const ChatdLoginResult *result,
                                      GBytes *manifest, GError **error);
guint    chatd_login_server_pow_bits (ChatdLoginServer *server, gint64 now_us);
const guint8 *chatd_login_server_fingerprint (ChatdLoginServer *server);
/* counters: hellos, challenges refused, ... */
void     chatd_login_server_foreach_counter (ChatdLoginServer *server,
                                             void (*func) (const char *, guint64, gpointer),
                                             gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdLoginServer, chatd_login_server_free)
