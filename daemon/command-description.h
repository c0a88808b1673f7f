/* command-description.h: a command's self-description, as sent to chatctl by
 * ListCommands, and the check of a request's arguments against it. */
#pragma once
#include <chatd/chatd-plugin.h>

/* Checks a descriptor from a plugin: names, types, flag combinations. */
gboolean  chatd_command_description_validate (const ChatdCommand *command, GError **error);
/* a{sv}: roles, plugin, usage, options, arguments, streaming, stream-option */
GVariant *chatd_command_description_new      (const ChatdCommand *command, const char *plugin);
/* "send USER MESSAGE..." with options in brackets */
char     *chatd_command_usage                (const ChatdCommand *command);
/* Checks a request's a{sv} against the descriptor: known names, exact types,
 * required arguments present. */
gboolean  chatd_command_check_args           (const ChatdCommand *command, GVariant *args,
                                              GError **error);
