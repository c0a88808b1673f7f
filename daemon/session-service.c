/* session-service.c: the session service table each role offers to the
 * session commands (chatd/service-session.h). */
#define G_LOG_DOMAIN "chatd"
#include "session-service.h"
#include "host.h"
#include "messenger.h"
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

static void
user_passwd (const ChatdHost *host, ChatdCall *call, const char *new_password)
{
  chatd_user_role_passwd (chatd_host_get_node (host)->user_role, host, call, new_password);
}

static ChatdMessenger *
messenger_of (const ChatdHost *host)
{
  return chatd_user_role_get_messenger (chatd_host_get_node (host)->user_role);
}

static void
messaging_send (const ChatdHost *host, ChatdCall *call, const char *recipients, const char *text)
{
  chatd_messenger_send (messenger_of (host), host, call, recipients, text);
}

static void
messaging_recv (const ChatdHost *host, ChatdCall *call, const char *since, const char *from, gboolean follow)
{
  chatd_messenger_recv (messenger_of (host), host, call, since, from, follow);
}

static void
messaging_verify (const ChatdHost *host, ChatdCall *call, const char *user)
{
  chatd_messenger_verify (messenger_of (host), host, call, user);
}

static void
messaging_outbox (const ChatdHost *host, ChatdCall *call)
{
  chatd_messenger_outbox (messenger_of (host), host, call);
}

const ChatdMessagingService *
chatd_messaging_service_for_user (void)
{
  static const ChatdMessagingService service = {
    .send = messaging_send, .recv = messaging_recv, .verify = messaging_verify,
    .outbox = messaging_outbox };
  return &service;
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
  static const ChatdSessionService service = { .list = user_list, .users = user_users, .logout = user_logout,
                                                 .passwd = user_passwd };
  return &service;
}
