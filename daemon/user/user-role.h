/* user-role.h: a user's node at work: logs in to the server (and again by
 * itself after losing it, with backoff), keeps its session alive with
 * heartbeats, and asks the server for the online list and the directory. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdUserRole ChatdUserRole;

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
} ChatdLoginState;

/* Reads the password (secure memory) and starts logging in. */
ChatdUserRole *chatd_user_role_new      (ChatdNode *node, gboolean may_prompt, GError **error);
void           chatd_user_role_free     (ChatdUserRole *role);
void           chatd_user_role_status   (ChatdUserRole *role, GVariantBuilder *builder);
ChatdLoginState chatd_user_role_get_state (ChatdUserRole *role);
/* The commands' work; each ends the call. */
void           chatd_user_role_list     (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);
void           chatd_user_role_users    (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);
void           chatd_user_role_logout   (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdUserRole, chatd_user_role_free)
