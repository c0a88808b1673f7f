/* cmd-session.h: the session commands (list, users on a user node, logout),
 * one file each; they call the node's session service. */
#pragma once
#include <chatd/service-session.h>

extern const ChatdCommand chatd_cmd_list;
extern const ChatdCommand chatd_cmd_user_users;
extern const ChatdCommand chatd_cmd_logout;
extern const ChatdCommand chatd_cmd_passwd;

/* The session service, or fails the call and returns NULL. */
const ChatdSessionService *cmd_session_service (const ChatdHost *host, ChatdCall *call);
