/* chatd-plugin.h: the public plugin ABI of chatd.
 *
 * A plugin is a GModule that exports exactly two symbols:
 *
 *   const guint32 chatd_plugin_abi_version;         checked before anything else
 *   gboolean      chatd_plugin_register (const ChatdHost *host, ChatdPlugin *plugin,
 *                                        GError **error);
 *
 * CHATD_PLUGIN_DEFINE() writes both.  The register function adds static const
 * descriptors (commands, suites) through the host table; a plugin never calls
 * a daemon symbol directly, so it links only against GLib (and whatever
 * library it wraps, such as libgcrypt).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Bumped on every incompatible change of this header or of suite.h.  The
 * host table only grows at its end; a plugin may check host->size before it
 * uses an entry added after the version it was built for. */
#define CHATD_PLUGIN_ABI_VERSION 1

typedef struct _ChatdHost    ChatdHost;     /* the table of entry points, below */
typedef struct _ChatdPlugin  ChatdPlugin;   /* opaque: the plugin being registered */
typedef struct _ChatdCall    ChatdCall;     /* opaque: one control-socket request in flight */
typedef struct _ChatdSuite   ChatdSuite;    /* a crypto suite, see chatd/suite.h */

typedef enum {
  CHATD_ROLE_SERVER = 1 << 0,
  CHATD_ROLE_USER   = 1 << 1,
  CHATD_ROLE_ANY    = CHATD_ROLE_SERVER | CHATD_ROLE_USER,
} ChatdRoles;

/* Value types of options and positional arguments, as GVariant type
 * strings: chatctl converts argv by them and the daemon checks them again. */
#define CHATD_TYPE_STRING  "s"
#define CHATD_TYPE_INT     "x"
#define CHATD_TYPE_BOOL    "b"   /* options only: a flag without a value */

typedef struct {
  const char *name;      /* long option name, without "--" */
  const char *type;      /* CHATD_TYPE_* */
  const char *metavar;   /* for help, e.g. "ID"; NULL for flags */
  const char *help;
} ChatdOption;

typedef enum {
  CHATD_ARG_REQUIRED = 0,
  CHATD_ARG_OPTIONAL = 1 << 0,  /* may be left out */
  CHATD_ARG_REST     = 1 << 1,  /* last argument: takes the rest of argv, joined by spaces */
  CHATD_ARG_STDIN    = 1 << 2,  /* "-" (or, with OPTIONAL, nothing) reads the value from stdin */
  /* a secret such as a password: chatctl never takes it from argv, only
   * from stdin (the whole input, one trailing newline removed).  Required:
   * always read.  With OPTIONAL: read only when the request has the flag
   * option NAME-stdin (which the command must declare), e.g. `password`
   * with `--password-stdin`.  The argument takes no word of argv. */
  CHATD_ARG_STDIN_ONLY = 1 << 3,
} ChatdArgFlags;

typedef struct {
  const char   *name;    /* lower case key in the args dict ("user"); shown upper case ("USER") */
  const char   *type;    /* CHATD_TYPE_STRING or CHATD_TYPE_INT */
  const char   *help;
  ChatdArgFlags flags;
} ChatdArgument;

typedef enum {
  CHATD_COMMAND_STREAMING = 1 << 0,  /* emits items until the client goes away */
} ChatdCommandFlags;

/* Runs one request.  args is an a{sv} holding the options and arguments by
 * name, already checked against the description.  The function must end the
 * call exactly once, now or later from the main loop, with host->call_return
 * or host->call_fail.  It must not block. */
typedef void (*ChatdCommandRun) (const ChatdHost *host, ChatdCall *call, GVariant *args);

/* Renders a result (a{sv} or aa{sv}) or a streamed item (a{sv}) for people:
 * one line per item, no trailing newline.  Returns a newly allocated string. */
typedef char *(*ChatdCommandRender) (GVariant *value);

typedef struct {
  const char          *name;
  const char          *summary;
  ChatdRoles           roles;
  const ChatdOption   *options;     /* terminated by an entry with name == NULL; may be NULL */
  const ChatdArgument *arguments;   /* terminated by an entry with name == NULL; may be NULL */
  ChatdCommandFlags    flags;
  /* for STREAMING commands: the boolean option that turns streaming on
   * ("follow"), or NULL if the command always streams */
  const char          *stream_option;
  ChatdCommandRun      run;
  ChatdCommandRender   render;      /* NULL: a generic "key: value" rendering */
} ChatdCommand;

/* A counter read by `stats`.  Called on the main loop. */
typedef guint64 (*ChatdCounterRead) (gpointer user_data);

/* The outcome of a call made with host->call_new_internal: the result (a{sv}
 * or aa{sv}, borrowed) or the error; exactly once, on the main loop. */
typedef void (*ChatdCallDone) (GVariant *result, const GError *error, gpointer user_data);

/* Receives events from the event hub (see host->subscribe). */
typedef void (*ChatdEventFunc) (const char *id, const char *kind, GVariant *data,
                                const char *text, gpointer user_data);

struct _ChatdHost {
  guint32 abi_version;             /* CHATD_PLUGIN_ABI_VERSION of the daemon */
  gsize   size;                    /* sizeof (ChatdHost) in the daemon */

  /* registration, only inside chatd_plugin_register */
  gboolean (*add_command) (ChatdPlugin *plugin, const ChatdCommand *command, GError **error);
  gboolean (*add_suite)   (ChatdPlugin *plugin, const ChatdSuite *suite, GError **error);

  /* ending a call: result is a floating or owned a{sv} / aa{sv}; it is sunk */
  void     (*call_return) (ChatdCall *call, GVariant *result);
  void     (*call_fail)   (ChatdCall *call, const GError *error);
  /* streaming: one item (a{sv}) to the client of a STREAMING command */
  void     (*call_emit)   (ChatdCall *call, GVariant *item);
  /* cancelled when the client goes away or the node shuts down */
  GCancellable *(*call_get_cancellable) (ChatdCall *call);
  /* the host itself, for use in callbacks of a call */
  const ChatdHost *(*call_get_host) (ChatdCall *call);

  /* the node */
  GVariant *(*node_status)   (const ChatdHost *host);   /* a{sv}: role, node, version, uptime, ... */
  GVariant *(*list_plugins)  (const ChatdHost *host);   /* aa{sv} */
  GVariant *(*list_commands) (const ChatdHost *host);   /* aa{sv}: name, summary, plugin, usage, options, arguments */
  GVariant *(*read_counters) (const ChatdHost *host);   /* a{sv} of name -> t */
  void      (*request_shutdown) (const ChatdHost *host);

  /* counters for `stats`; names are dotted ("control.requests").  Counters,
   * events and subscriptions are refused inside chatd_plugin_register: set
   * them up once loaded (for example when a command first runs). */
  gboolean (*add_counter) (const ChatdHost *host, const char *name,
                           ChatdCounterRead read, gpointer user_data, GError **error);

  /* the event hub: emit an event (data a{sv}, floating or owned) to every
   * subscriber; subscribe replays what came after `since` ("" = nothing,
   * "0" = everything still held) and then delivers live events */
  void   (*emit_event)  (const ChatdHost *host, const char *kind, GVariant *data, const char *text);
  guint  (*subscribe)   (const ChatdHost *host, const char *since,
                         ChatdEventFunc func, gpointer user_data, GDestroyNotify destroy);
  void   (*unsubscribe) (const ChatdHost *host, guint subscription);

  /* the node's role services: typed tables of entry points declared in
   * their own public headers (e.g. chatd/service-directory.h for the server
   * role), looked up by name; NULL when this node does not offer it */
  gconstpointer (*get_service) (const ChatdHost *host, const char *name);

  /* Added within ABI 1: check CHATD_HOST_HAS (host, call_new_internal).
   * A call that no client made, for a command that drives a service entry
   * point itself (for example many sends at once, plugins/bench-load):
   * ending it (call_return, call_fail) runs done instead of answering a
   * client; items it emits are dropped; its cancellable is its own.  label
   * names it in log lines. */
  ChatdCall *(*call_new_internal) (const ChatdHost *host, const char *label, ChatdCallDone done,
                                   gpointer user_data);
};

/* TRUE if the daemon's host table has the entry (added after the first
 * release of this ABI version) */
#define CHATD_HOST_HAS(host, entry) \
  ((host)->size >= G_STRUCT_OFFSET (ChatdHost, entry) + sizeof (((ChatdHost *) NULL)->entry))

/* Defines the two exported symbols of a plugin. */
#define CHATD_PLUGIN_DEFINE(register_func)                                          \
  G_MODULE_EXPORT const guint32 chatd_plugin_abi_version = CHATD_PLUGIN_ABI_VERSION; \
  G_MODULE_EXPORT gboolean chatd_plugin_register (const ChatdHost *host,            \
                                                  ChatdPlugin *plugin,              \
                                                  GError **error);                  \
  gboolean chatd_plugin_register (const ChatdHost *host, ChatdPlugin *plugin,       \
                                  GError **error)                                   \
  {                                                                                 \
    return register_func (host, plugin, error);                                     \
  }

/* Errors a command reports through call_fail; chatctl exits 3 with the message. */
#define CHATD_ERROR (chatd_error_quark_for_plugins ())
static inline GQuark chatd_error_quark_for_plugins (void)
{
  return g_quark_from_static_string ("chatd-error-quark");
}

typedef enum {
  CHATD_ERROR_FAILED,          /* generic */
  CHATD_ERROR_INVALID_ARGUMENT,
  CHATD_ERROR_NOT_FOUND,
  CHATD_ERROR_EXISTS,
  CHATD_ERROR_UNKNOWN_COMMAND,
  CHATD_ERROR_NOT_SUPPORTED,   /* not available in this role or not yet */
  CHATD_ERROR_DUPLICATE,
  CHATD_ERROR_ABI,
  CHATD_ERROR_REFUSED,         /* security check failed */
  CHATD_ERROR_UNREACHABLE,
  CHATD_ERROR_TIMED_OUT,
} ChatdError;

G_END_DECLS
