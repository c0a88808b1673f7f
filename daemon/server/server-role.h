/* server-role.h: the server node at work: the transport on --listen, the
 * login, the sessions of logged-in user nodes, presence and the directory
 * requests made over those sessions. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdServerRole ChatdServerRole;

/* how long a node stays listed without a heartbeat */
#define CHATD_PRESENCE_TIMEOUT_US   (30 * G_USEC_PER_SEC)
/* queued envelopes sent to a recipient's session without a receipt yet */
#define CHATD_QUEUE_IN_FLIGHT_MAX   32
/* a hand-over without a receipt for this long moves on to the next ones */
#define CHATD_QUEUE_STALL_US        (30 * G_USEC_PER_SEC)
#define CHATD_MANIFEST_LIFETIME_S   60
/* default proof-of-work difficulty in bits, and its ceiling under load */
#define CHATD_POW_BITS_DEFAULT      12
#define CHATD_POW_BITS_LOADED_MAX   22
/* a connection accepted from a peer must become a session (login done)
 * within this many seconds, else it is closed: a peer that completes the
 * transport handshake and keeps acknowledging cannot hold one of the
 * endpoint's connection slots for ever ([server] login-deadline) */
#define CHATD_LOGIN_DEADLINE_S_DEFAULT 120
#define CHATD_LOGIN_DEADLINE_S_MAX     86400

ChatdServerRole *chatd_server_role_new    (ChatdNode *node, GError **error);
void             chatd_server_role_free   (ChatdServerRole *role);
/* a{sv} items added to `status`: listen, online, server fingerprint */
void             chatd_server_role_status (ChatdServerRole *role, GVariantBuilder *builder);
/* Ends the session of an online user (userdel): the node is told (ENDED)
 * and does not log in again by itself.  FALSE if the user was not online. */
gboolean         chatd_server_role_end_session (ChatdServerRole *role, const char *name, const char *why);
/* aa{sv}: name, address, suite, fingerprint, since */
GVariant        *chatd_server_role_list   (ChatdServerRole *role);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdServerRole, chatd_server_role_free)
