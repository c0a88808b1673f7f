/* node.h: one chatd node: its role, its plugins, its control socket and its
 * main loop.  Internal to the daemon; plugins see it through ChatdHost. */
#pragma once
#include <chatd/chatd-plugin.h>
#include "counters.h"
#include "event-hub.h"
#include "node-options.h"
#include "registry.h"

typedef struct _ChatdControlServer ChatdControlServer;
typedef struct _ChatdPluginLoader ChatdPluginLoader;
typedef struct _ChatdNodeLock ChatdNodeLock;
typedef struct _ChatdServerRole ChatdServerRole;
typedef struct _ChatdUserRole ChatdUserRole;

/* Tells main when the node is usable (a server: listening; a user node:
 * logged in) or can never be (login refused). */
typedef void (*ChatdNodeReadyFunc) (gboolean ok, const char *message, gpointer user_data);
typedef struct _ChatdDirectory ChatdDirectory;

struct _ChatdNode {
  const ChatdNodeOptions *options;      /* borrowed, outlives the node */
  ChatdRoles          role;
  char               *name;             /* "server" or the user name */
  char               *state_dir;
  char               *socket_path;
  GMainLoop          *loop;
  gint64              started_monotonic;
  GDateTime          *started_at;
  ChatdRegistry      *registry;
  ChatdCounters      *counters;
  ChatdEventHub      *events;
  const ChatdHost    *host;
  ChatdPluginLoader  *loader;
  ChatdNodeLock      *lock;
  ChatdControlServer *control;
  GHashTable         *services;         /* name -> const service table */
  ChatdDirectory     *directory;        /* server role: users and the server identity */
  ChatdServerRole    *server_role;
  ChatdUserRole      *user_role;
  ChatdNodeReadyFunc  ready_func;
  gpointer            ready_data;
  guint               signal_sources[2];
  gboolean            shutting_down;
};
typedef struct _ChatdNode ChatdNode;

/* Resolves the paths and prepares the state directory. */
ChatdNode *chatd_node_new      (const ChatdNodeOptions *options, GError **error);
/* Loads the plugins, takes the socket's lock and starts answering on the
 * control socket. */
gboolean   chatd_node_start    (ChatdNode *node, GError **error);
/* Runs the main loop until shutdown (command, SIGTERM or SIGINT). */
void       chatd_node_run      (ChatdNode *node);
void       chatd_node_request_shutdown (ChatdNode *node);
void       chatd_node_free     (ChatdNode *node);

void       chatd_node_set_ready_func (ChatdNode *node, ChatdNodeReadyFunc func, gpointer user_data);
/* Called by the role once; later calls are ignored. */
void       chatd_node_report_ready   (ChatdNode *node, gboolean ok, const char *message);

/* Role modules offer their service tables to plugins (host->get_service). */
void          chatd_node_add_service (ChatdNode *node, const char *name, gconstpointer service);
gconstpointer chatd_node_get_service (ChatdNode *node, const char *name);

GVariant  *chatd_node_status        (ChatdNode *node);   /* a{sv} */
GVariant  *chatd_node_list_plugins  (ChatdNode *node);   /* aa{sv} */
GVariant  *chatd_node_list_commands (ChatdNode *node);   /* aa{sv} */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdNode, chatd_node_free)
