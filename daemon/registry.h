/* registry.h: the commands and crypto suites that plugins provide, by name. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdRegistry ChatdRegistry;

/* Checks a suite before it is accepted (descriptor and known-answer vectors). */
typedef gboolean (*ChatdSuiteCheck) (const ChatdSuite *suite, GError **error);

ChatdRegistry      *chatd_registry_new            (ChatdSuiteCheck suite_check);
void                chatd_registry_free           (ChatdRegistry *registry);

gboolean            chatd_registry_add_command    (ChatdRegistry *registry,
                                                   const ChatdCommand *command,
                                                   const char *plugin, GError **error);
gboolean            chatd_registry_add_suite      (ChatdRegistry *registry,
                                                   const ChatdSuite *suite,
                                                   const char *plugin, GError **error);
/* Removes everything a plugin added (a plugin whose registration failed). */
void                chatd_registry_remove_plugin  (ChatdRegistry *registry, const char *plugin);

/* The command of that name for any of roles (a name has at most one command
 * per role). */
const ChatdCommand *chatd_registry_lookup_command (ChatdRegistry *registry, const char *name,
                                                   ChatdRoles roles, const char **ret_plugin);
const char         *chatd_registry_command_plugin (ChatdRegistry *registry,
                                                   const ChatdCommand *command);
const ChatdSuite   *chatd_registry_lookup_suite   (ChatdRegistry *registry, const char *name);
/* Sorted by name (a name may appear once per role).  Elements are borrowed. */
GPtrArray          *chatd_registry_list_commands  (ChatdRegistry *registry);
GPtrArray          *chatd_registry_list_suites    (ChatdRegistry *registry);
/* The names a plugin provides, sorted, as "command NAME" / "suite NAME". */
GStrv               chatd_registry_plugin_provides (ChatdRegistry *registry, const char *plugin);

/* The name of a suite: the first member of every ChatdSuite. */
static inline const char *
chatd_suite_name (const ChatdSuite *suite)
{
  return *(const char * const *) suite;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdRegistry, chatd_registry_free)
