/* cmd-core.h: the commands every node has, one file each. */
#pragma once
#include <chatd/chatd-plugin.h>

extern const ChatdCommand chatd_cmd_help;
extern const ChatdCommand chatd_cmd_plugins;
extern const ChatdCommand chatd_cmd_status;
extern const ChatdCommand chatd_cmd_stats;
extern const ChatdCommand chatd_cmd_shutdown;
extern const ChatdCommand chatd_cmd_events;

/* "key: value" lines of an a{sv} in the order of keys, skipping absent ones */
char *cmd_core_render_fields (GVariant *dict, const char *const *keys);
