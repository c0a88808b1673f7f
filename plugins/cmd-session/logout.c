/* logout.c: `logout`: leave the server's list; the node stays up. */
#include "cmd-session.h"

static void
logout_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdSessionService *service = cmd_session_service (host, call);
  if (service != NULL)
    service->logout (host, call);
}

static char *
logout_render (GVariant *value)
{
  return g_strdup ("logged out");
}

const ChatdCommand chatd_cmd_logout = {
  .name = "logout",
  .summary = "Log out of the server (the node keeps running)",
  .roles = CHATD_ROLE_USER,
  .run = logout_run,
  .render = logout_render,
};
