/* session-service.c: the session service table each role offers to the
 * session commands (chatd/service-session.h). */
#define G_LOG_DOMAIN "chatd"
#include "session-service.h"
#include "host.h"
#include "node.h"
#include "server-role.h"
#include "user-role.h"

static void
server_list (const ChatdHost *host, ChatdCall *call)
{
  ChatdNode *node = chatd_host_get_node (host);
  host->call_return (call, chatd_server_role_list (node->server_role));
}

static void
user_list (const ChatdHost *host, ChatdCall *call)
{
  chatd_user_role_list (chatd_host_get_node (host)->user_role, host, call);
}

static void
user_users (const ChatdHost *host, ChatdCall *call)
{
  chatd_user_role_users (chatd_host_get_node (host)->user_role, host, call);
}

static void
user_logout (const ChatdHost *host, ChatdCall *call)
{
  chatd_user_role_logout (chatd_host_get_node (host)->user_role, host, call);
}

const ChatdSessionService *
chatd_session_service_for_server (void)
{
  static const ChatdSessionService service = { .list = server_list };
  return &service;
}

const ChatdSessionService *
chatd_session_service_for_user (void)
{
  static const ChatdSessionService service = { .list = user_list, .users = user_users, .logout = user_logout };
  return &service;
}
