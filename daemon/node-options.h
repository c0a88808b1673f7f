/* node-options.h: chatd's command line and config file (DESIGN section 3). */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct {
  ChatdRoles role;           /* CHATD_ROLE_SERVER or CHATD_ROLE_USER */
  char      *user;           /* user role: the user name */
  char      *connect;        /* user role: HOST:PORT of the server */
  char      *listen;         /* ADDR:PORT */
  char      *advertise;      /* HOST:PORT */
  char      *password_file;
  char      *server_key;
  char      *server_fingerprint;
  char      *enroll_token;
  char      *state_dir;
  char      *socket_path;
  char      *plugin_dir;
  char      *config_file;
  gboolean   daemonize;
  gint       wait_seconds;
  GStrv      critical_plugins;
  GStrv      disabled_plugins;
  guint      kdf_memory_kib;  /* server: Argon2id memory for server-made keys (0: default) */
  guint      kdf_passes;      /* server: Argon2id passes (0: default) */
  guint      pow_bits;        /* server: login proof-of-work bits (0: default) */
  char      *user_suite;      /* server: suite of server-made user keys (NULL: default) */
  guint      queue_limit;     /* server: queued envelopes per recipient (0: default) */
  guint      queue_bytes;     /* server: queued bytes per recipient (0: default) */
  guint      queue_ttl;       /* server: seconds a queued envelope waits (0: default; at most 7 days) */
  guint      login_deadline_s;/* server: seconds a connection may stay without a session (0: default) */
} ChatdNodeOptions;

#define CHATD_DEFAULT_SERVER_LISTEN "127.0.0.1:5000"
#define CHATD_DEFAULT_USER_LISTEN   "127.0.0.1:0"
#define CHATD_DEFAULT_WAIT_SECONDS  30
/* without [plugins] critical= in the config: the node cannot work without
 * its core commands and the channel suite (DESIGN section 4) */
#define CHATD_DEFAULT_CRITICAL_PLUGINS { "cmd-core", "suite-25519", NULL }

typedef enum {
  CHATD_OPTIONS_PARSED,
  CHATD_OPTIONS_VERSION,     /* --version: print and exit 0 */
} ChatdOptionsOutcome;

/* Parses argv (consumed) and the config file it names.  Command-line values
 * win over the config file.  Every error is one line naming the problem. */
gboolean chatd_node_options_parse (ChatdNodeOptions *options, int *argc, char ***argv,
                                   ChatdOptionsOutcome *ret_outcome, GError **error);
void     chatd_node_options_clear (ChatdNodeOptions *options);
/* "server" or the user name */
const char *chatd_node_options_node_name (const ChatdNodeOptions *options);

/* User names: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$, and not "server". */
gboolean chatd_user_name_is_valid (const char *name, GError **error);
/* HOST:PORT or [V6]:PORT; port 0..65535 (0 only when allow_any_port). */
gboolean chatd_parse_host_port (const char *text, gboolean allow_any_port,
                                char **ret_host, guint16 *ret_port, GError **error);
