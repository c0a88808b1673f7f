/* user-role.h: a user's node at work: logs in to the server (and again by
 * itself after losing it, with backoff), keeps its session alive with
 * heartbeats, and asks the server for the online list and the directory. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdUserRole ChatdUserRole;
typedef struct _ChatdMessenger ChatdMessenger;
typedef struct _ChatdKey ChatdKey;
typedef struct _ChatdManifest ChatdManifest;

/* The node's own requests to the server: exactly one call each, with the
 * verified answer or an error. */
typedef void (*ChatdManifestReply)  (ChatdManifest *manifest, const GError *error, gpointer data);
typedef void (*ChatdKeyRecordReply) (gpointer record /* ChatdKeyRecord* */, const GError *error,
                                     gpointer data);
/* error NULL: the server committed the envelope to its queue; refused: the
 * server answered no (error holds its reason), else it did not answer */
typedef void (*ChatdQueueReply)     (gboolean refused, const GError *error, gpointer data);

#define CHATD_RELOGIN_BACKOFF_MIN_S   1
#define CHATD_RELOGIN_BACKOFF_MAX_S   30
#define CHATD_REQUEST_TIMEOUT_S       15

typedef enum {
  CHATD_LOGIN_STATE_LOGGING_IN,
  CHATD_LOGIN_STATE_ONLINE,
  CHATD_LOGIN_STATE_RETRYING,     /* lost the server or could not reach it: tries again */
  CHATD_LOGIN_STATE_REFUSED,      /* wrong password, changed server key, ...: stops */
  CHATD_LOGIN_STATE_REPLACED,     /* another login of this user took over: stops */
  CHATD_LOGIN_STATE_LOGGED_OUT,
  CHATD_LOGIN_STATE_ENDED,        /* the server ended the session (the user was deleted): stops */
} ChatdLoginState;

/* the key suite of a user who enrols from this node */
#define CHATD_ENROLL_DEFAULT_SUITE    "25519"

/* Reads the password (secure memory) and starts logging in. */
ChatdUserRole *chatd_user_role_new      (ChatdNode *node, gboolean may_prompt, GError **error);
void           chatd_user_role_free     (ChatdUserRole *role);
void           chatd_user_role_status   (ChatdUserRole *role, GVariantBuilder *builder);
/* The commands' work; each ends the call. */
void           chatd_user_role_list     (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);
void           chatd_user_role_users    (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);
void           chatd_user_role_logout   (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);
/* Re-wraps the user's key with new_password and stores it at the server. */
void           chatd_user_role_passwd   (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call,
                                         const char *new_password);

/* For the messenger */
void            chatd_user_role_fetch_manifest   (ChatdUserRole *role, ChatdManifestReply reply, gpointer data);
void            chatd_user_role_fetch_key_record (ChatdUserRole *role, const char *name,
                                                  ChatdKeyRecordReply reply, gpointer data);
void            chatd_user_role_queue_envelope   (ChatdUserRole *role, GBytes *envelope,
                                                  ChatdQueueReply reply, gpointer data);
/* NULL unless online */
const ChatdKey *chatd_user_role_get_user_key     (ChatdUserRole *role);
ChatdMessenger *chatd_user_role_get_messenger    (ChatdUserRole *role);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdUserRole, chatd_user_role_free)
