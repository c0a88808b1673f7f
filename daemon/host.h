/* host.h: the host table that plugins receive, and the plugin being registered. */
#pragma once
#include <chatd/chatd-plugin.h>
#include "registry.h"

typedef struct _ChatdNode ChatdNode;

/* node may be NULL (unit tests of the loader): then only registration works */
const ChatdHost *chatd_host_new  (ChatdNode *node);
void             chatd_host_free (const ChatdHost *host);
ChatdNode       *chatd_host_get_node (const ChatdHost *host);
/* Set by the loader around a plugin's register function. */
void             chatd_host_set_registering (const ChatdHost *host, gboolean registering);

ChatdPlugin     *chatd_plugin_new  (const char *name, ChatdRegistry *registry);
void             chatd_plugin_free (ChatdPlugin *plugin);
/* Called after the plugin's register function: refuses a plugin that added
 * nothing, and closes registration. */
gboolean         chatd_plugin_finish_registration (ChatdPlugin *plugin, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPlugin, chatd_plugin_free)
