/* argv-parse.h: turns chatctl's argv into a request's a{sv}, by the
 * command's own description (from ListCommands). */
#pragma once
#include <gio/gio.h>

#define CHATCTL_PARSE_ERROR (chatctl_parse_error_quark ())
GQuark chatctl_parse_error_quark (void);

typedef enum {
  CHATCTL_PARSE_ERROR_USAGE,      /* wrong count, unknown option, bad number: exit 1 */
  CHATCTL_PARSE_ERROR_INPUT,      /* a value that is not UTF-8, stdin unreadable or too large: exit 3 */
} ChatctlParseError;

/* Largest value read from stdin */
#define CHATCTL_STDIN_MAX (64 * 1024 * 1024)

/* description: the a{sv} of ListCommands.  argv: the words after the command
 * name.  stdin_stream: where '-' reads from.  Returns a floating a{sv}. */
GVariant *chatctl_parse_args (const char *command, GVariant *description,
                              int argc, char **argv, GInputStream *stdin_stream,
                              GError **error);
/* TRUE when the request asks the command to stream (always, or when its
 * stream option is set). */
gboolean  chatctl_request_streams (GVariant *description, GVariant *args);
