/* enroll-server.h: the server's side of enrolment over the network (DESIGN
 * section 7; doc/protocol.md, "Enrolment"), without sockets or database: it
 * answers ENROLL_QUERY with the server's Argon2id minimum, and checks an
 * ENROLL (challenge MAC, freshness, proof of work, once) before the one
 * private-key operation that opens the sealed payload.  The caller decides
 * about the token (the directory) and answers with ENROLLED or FAILED.
 * The CHALLENGE itself comes from the login server (the same MAC). */
#pragma once
#include "auth-message.h"
#include "enroll.h"

typedef struct {
  const ChatdKey *server_key;      /* private: opens the payload, signs ENROLLED */
  const guint8   *server_secret;   /* 32 bytes: the login challenge's MAC key */
  ChatdKdfParams  kdf;             /* the least a wrapped key must use */
} ChatdEnrollServerConfig;

typedef struct _ChatdEnrollServer ChatdEnrollServer;

/* A checked, opened enrolment, for the caller to register. */
typedef struct {
  ChatdEnrollPayload payload;
  ChatdAuthMessage  *message;      /* the ENROLL it came in (ENROLLED signs over it) */
} ChatdEnrollRequest;

void chatd_enroll_request_free (ChatdEnrollRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdEnrollRequest, chatd_enroll_request_free)

typedef enum {
  CHATD_ENROLL_SERVER_REPLY,     /* send *ret_reply */
  CHATD_ENROLL_SERVER_REQUEST,   /* *ret_request is ready: register it, then answer */
  CHATD_ENROLL_SERVER_REFUSED,   /* send *ret_reply (FAILED); error says why (log it) */
} ChatdEnrollServerOutcome;

ChatdEnrollServer *chatd_enroll_server_new  (const ChatdEnrollServerConfig *config, GError **error);
void               chatd_enroll_server_free (ChatdEnrollServer *server);
/* peer: "IP:PORT" as the challenge was made for; wall_us: the real time */
ChatdEnrollServerOutcome chatd_enroll_server_handle (ChatdEnrollServer *server, const char *peer,
                                                     gint64 wall_us, const ChatdAuthMessage *message,
                                                     GBytes **ret_reply,
                                                     ChatdEnrollRequest **ret_request,
                                                     GError **error);
/* ENROLLED for a registered request, signed; registered_name as stored. */
GBytes *chatd_enroll_server_enrolled (ChatdEnrollServer *server, const ChatdEnrollRequest *request,
                                      const char *registered_name, GError **error);
/* FAILED with a one-line reason. */
GBytes *chatd_enroll_failed_message (const char *reason);
void    chatd_enroll_server_foreach_counter (ChatdEnrollServer *server,
                                             void (*func) (const char *, guint64, gpointer),
                                             gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdEnrollServer, chatd_enroll_server_free)
