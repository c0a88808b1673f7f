/* cmd-server.h: the server role's directory commands, one file each. */
#pragma once
#include <chatd/chatd-plugin.h>
#include <chatd/service-directory.h>

extern const ChatdCommand chatd_cmd_seed;
extern const ChatdCommand chatd_cmd_useradd;
extern const ChatdCommand chatd_cmd_userdel;
extern const ChatdCommand chatd_cmd_users;

/* A call waiting for an async entry of the directory service. */
typedef struct {
  const ChatdHost             *host;
  ChatdCall                   *call;
  const ChatdDirectoryService *directory;
} CmdServerPending;

CmdServerPending *cmd_server_pending_new (const ChatdHost *host, ChatdCall *call,
                                          const ChatdDirectoryService *directory);

/* The node's directory service, or NULL after failing the call. */
const ChatdDirectoryService *cmd_server_directory (const ChatdHost *host, ChatdCall *call);
/* Ends the call with a result or an error (result may be NULL with error set). */
void cmd_server_finish (const ChatdHost *host, ChatdCall *call, GVariant *result, GError *error);
