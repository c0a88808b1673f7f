/* node-options.c: chatd's command line and config file (DESIGN section 3). */
#define G_LOG_DOMAIN "chatd"
#include "node-options.h"
#include "chatd-config.h"

#include <errno.h>
#include <string.h>

#define CONFIG_GROUP "chatd"
#define PLUGINS_GROUP "plugins"
#define SERVER_GROUP "server"
#define WAIT_SECONDS_MAX 3600
#define WAIT_UNSET G_MININT

gboolean
chatd_user_name_is_valid (const char *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;
  gboolean ok = len >= 1 && len <= 32 && g_ascii_isalnum (name[0]);
  for (gsize i = 1; ok && i < len; i++)
    ok = g_ascii_isalnum (name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-';
  if (!ok)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "invalid user name '%s': 1 to 32 of A-Z a-z 0-9 _ . -, starting with a letter or digit",
                   name ? name : "");
      return FALSE;
    }
  if (g_ascii_strcasecmp (name, "server") == 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "the user name 'server' is reserved");
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_parse_host_port (const char *text, gboolean allow_any_port,
                       char **ret_host, guint16 *ret_port, GError **error)
{
  const char *colon = NULL;
  g_autofree char *host = NULL;
  if (text != NULL && text[0] == '[')
    {
      const char *close = strchr (text, ']');
      if (close != NULL && close[1] == ':')
        {
          host = g_strndup (text + 1, close - text - 1);
          colon = close + 1;
        }
    }
  else if (text != NULL)
    {
      colon = strrchr (text, ':');
      if (colon != NULL && strchr (text, ':') == colon)   /* a bare v6 address needs brackets */
        host = g_strndup (text, colon - text);
      else
        colon = NULL;
    }
  guint64 port = 0;
  if (colon == NULL || host == NULL || host[0] == '\0' ||
      !g_ascii_string_to_unsigned (colon + 1, 10, allow_any_port ? 0 : 1, 65535, &port, NULL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "'%s' is not HOST:PORT (or [IPV6]:PORT) with a port %s65535",
                   text ? text : "", allow_any_port ? "0.." : "1..");
      return FALSE;
    }
  if (ret_host != NULL)
    *ret_host = g_steal_pointer (&host);
  if (ret_port != NULL)
    *ret_port = (guint16) port;
  return TRUE;
}

static void
take_string (char **field, char *value)
{
  if (value != NULL)
    {
      g_free (*field);
      *field = value;
    }
}

/* Values from the config file fill only what the command line left unset. */
static gboolean
load_config (ChatdNodeOptions *options, gboolean *server_flag, GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_file (file, options->config_file, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "cannot read config file %s: ", options->config_file);
      return FALSE;
    }

  static const char *const chatd_keys[] = {
    "server", "user", "connect", "listen", "advertise", "password-file", "server-key",
    "server-fingerprint", "state-dir", "socket", "plugin-dir", "wait", NULL };
  static const char *const plugin_keys[] = { "critical", "disabled", NULL };
  static const char *const server_keys[] = { "kdf-memory-kib", "kdf-passes", "pow-bits", "user-suite",
                                             "queue-limit", "queue-bytes", "queue-ttl",
                                             "login-deadline", NULL };

  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      const char *const *known = g_str_equal (groups[g], CONFIG_GROUP) ? chatd_keys
                               : g_str_equal (groups[g], PLUGINS_GROUP) ? plugin_keys
                               : g_str_equal (groups[g], SERVER_GROUP) ? server_keys : NULL;
      if (known == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "config file %s: unknown group [%s]", options->config_file, groups[g]);
          return FALSE;
        }
      g_auto(GStrv) keys = g_key_file_get_keys (file, groups[g], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        if (!g_strv_contains (known, keys[k]))
          {
            g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                         "config file %s: unknown key '%s' in [%s]",
                         options->config_file, keys[k], groups[g]);
            return FALSE;
          }
    }

  /* the role on the command line wins over the config's, as a whole */
  gboolean role_given = *server_flag || options->user != NULL;
  struct { const char *key; char **field; } strings[] = {
    { "user", role_given ? NULL : &options->user }, { "connect", &options->connect },
    { "listen", &options->listen }, { "advertise", &options->advertise },
    { "password-file", &options->password_file }, { "server-key", &options->server_key },
    { "server-fingerprint", &options->server_fingerprint }, { "state-dir", &options->state_dir },
    { "socket", &options->socket_path }, { "plugin-dir", &options->plugin_dir },
  };
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    if (strings[i].field != NULL && *strings[i].field == NULL)
      *strings[i].field = g_key_file_get_string (file, CONFIG_GROUP, strings[i].key, NULL);

  g_autoptr(GError) local = NULL;
  if (!role_given && g_key_file_has_key (file, CONFIG_GROUP, "server", NULL))
    {
      gboolean value = g_key_file_get_boolean (file, CONFIG_GROUP, "server", &local);
      if (local != NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "config file %s: server must be true or false", options->config_file);
          return FALSE;
        }
      *server_flag = *server_flag || value;
    }
  if (options->wait_seconds == WAIT_UNSET && g_key_file_has_key (file, CONFIG_GROUP, "wait", NULL))
    {
      options->wait_seconds = g_key_file_get_integer (file, CONFIG_GROUP, "wait", &local);
      if (local != NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "config file %s: wait must be a number of seconds", options->config_file);
          return FALSE;
        }
    }
  struct { const char *key; guint *field; } server_numbers[] = {
    { "kdf-memory-kib", &options->kdf_memory_kib }, { "kdf-passes", &options->kdf_passes },
    { "pow-bits", &options->pow_bits }, { "queue-limit", &options->queue_limit },
    { "queue-bytes", &options->queue_bytes }, { "queue-ttl", &options->queue_ttl },
    { "login-deadline", &options->login_deadline_s },
  };
  for (guint i = 0; i < G_N_ELEMENTS (server_numbers); i++)
    if (g_key_file_has_key (file, SERVER_GROUP, server_numbers[i].key, NULL))
      {
        guint64 value = g_key_file_get_uint64 (file, SERVER_GROUP, server_numbers[i].key, &local);
        if (local != NULL || value == 0 || value > G_MAXUINT32)
          {
            g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                         "config file %s: %s in [server] must be a positive number",
                         options->config_file, server_numbers[i].key);
            return FALSE;
          }
        *server_numbers[i].field = (guint) value;
      }
  if (options->user_suite == NULL)
    options->user_suite = g_key_file_get_string (file, SERVER_GROUP, "user-suite", NULL);
  options->critical_plugins = g_key_file_get_string_list (file, PLUGINS_GROUP, "critical", NULL, NULL);
  options->disabled_plugins = g_key_file_get_string_list (file, PLUGINS_GROUP, "disabled", NULL, NULL);
  return TRUE;
}

gboolean
chatd_node_options_parse (ChatdNodeOptions *options, int *argc, char ***argv,
                          ChatdOptionsOutcome *ret_outcome, GError **error)
{
  gboolean server = FALSE, version = FALSE;
  g_autofree char *user = NULL, *connect = NULL, *listen = NULL, *advertise = NULL;
  g_autofree char *password_file = NULL, *server_key = NULL, *enroll = NULL;
  g_autofree char *state_dir = NULL, *socket_path = NULL, *plugin_dir = NULL, *config = NULL;
  gint wait_seconds = WAIT_UNSET;
  gboolean daemonize = FALSE;

  const GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_NONE, &server, "Run the directory/authentication server node", NULL },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "Run the node of user NAME", "NAME" },
    { "connect", 0, 0, G_OPTION_ARG_STRING, &connect, "User role: the server to log in to", "HOST:PORT" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Transport address (server default 127.0.0.1:5000, user 127.0.0.1:0: any free port)", "ADDR:PORT" },
    { "advertise", 0, 0, G_OPTION_ARG_STRING, &advertise, "User role: the address the directory publishes, if not the listen one", "HOST:PORT" },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, "User role: read the password from FILE (else env CHATD_PASSWORD, read once and wiped, else a prompt)", "FILE" },
    { "server-key", 0, 0, G_OPTION_ARG_FILENAME, &server_key, "User role: pin the server's public key (else trusted on first use)", "FILE" },
    { "enroll", 0, 0, G_OPTION_ARG_STRING, &enroll, "User role: first start of a new user: make the keys here and register them with the one-time token from useradd", "TOKEN" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "State directory (default $XDG_STATE_HOME/chatd/NODE)", "DIR" },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, "Control socket (default $XDG_RUNTIME_DIR/chatd/NODE.sock)", "PATH" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir, "Load plugins from DIR too", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config, "Read settings from FILE (command line wins)", "FILE" },
    { "daemon", 0, 0, G_OPTION_ARG_NONE, &daemonize, "Run in the background; return once the node is usable", NULL },
    { "wait", 0, 0, G_OPTION_ARG_INT, &wait_seconds, "With --daemon: give up after SECONDS (default 30)", "SECONDS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  g_autoptr(GOptionContext) context = g_option_context_new ("- secure peer-to-peer chat node");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "  chatd --server [--listen ADDR:PORT]\n"
    "  chatd --user NAME --connect HOST:PORT [--listen ADDR:PORT] [--advertise HOST:PORT]");
  g_option_context_set_description (context,
    "Exit status: 0 clean shutdown, 1 bad command line, config or start-up failure,\n"
    "3 (with --daemon) the node could not become usable in time.\n"
    "Control the running node with chatctl(1).");
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (version)
    {
      *ret_outcome = CHATD_OPTIONS_VERSION;
      return TRUE;
    }
  if (*argc > 1)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "unexpected argument '%s'", (*argv)[1]);
      return FALSE;
    }

  take_string (&options->user, g_steal_pointer (&user));
  take_string (&options->connect, g_steal_pointer (&connect));
  take_string (&options->listen, g_steal_pointer (&listen));
  take_string (&options->advertise, g_steal_pointer (&advertise));
  take_string (&options->password_file, g_steal_pointer (&password_file));
  take_string (&options->server_key, g_steal_pointer (&server_key));
  take_string (&options->enroll_token, g_steal_pointer (&enroll));
  take_string (&options->state_dir, g_steal_pointer (&state_dir));
  take_string (&options->socket_path, g_steal_pointer (&socket_path));
  take_string (&options->plugin_dir, g_steal_pointer (&plugin_dir));
  take_string (&options->config_file, g_steal_pointer (&config));
  options->daemonize = daemonize;
  options->wait_seconds = wait_seconds;

  if (options->config_file != NULL && !load_config (options, &server, error))
    return FALSE;

  if (options->critical_plugins == NULL)
    {
      static const char *const default_critical[] = CHATD_DEFAULT_CRITICAL_PLUGINS;
      options->critical_plugins = g_strdupv ((char **) default_critical);
    }
  if (server == (options->user != NULL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "choose exactly one role: --server or --user NAME");
      return FALSE;
    }
  options->role = server ? CHATD_ROLE_SERVER : CHATD_ROLE_USER;
  if (options->user != NULL && !chatd_user_name_is_valid (options->user, error))
    return FALSE;
  if (server && (options->connect || options->advertise || options->password_file ||
                 options->server_key || options->enroll_token))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "--connect, --advertise, --password-file, --server-key and --enroll "
                   "belong to the user role, not --server");
      return FALSE;
    }
  if (!server && options->connect == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "--user needs --connect HOST:PORT (the server to log in to)");
      return FALSE;
    }
  if (options->connect && !chatd_parse_host_port (options->connect, FALSE, NULL, NULL, error))
    {
      g_prefix_error (error, "--connect: ");
      return FALSE;
    }
  if (options->advertise && !chatd_parse_host_port (options->advertise, FALSE, NULL, NULL, error))
    {
      g_prefix_error (error, "--advertise: ");
      return FALSE;
    }
  if (options->listen == NULL)
    options->listen = g_strdup (server ? CHATD_DEFAULT_SERVER_LISTEN : CHATD_DEFAULT_USER_LISTEN);
  if (!chatd_parse_host_port (options->listen, TRUE, NULL, NULL, error))
    {
      g_prefix_error (error, "--listen: ");
      return FALSE;
    }
  if (options->wait_seconds == WAIT_UNSET)
    options->wait_seconds = CHATD_DEFAULT_WAIT_SECONDS;
  if (options->wait_seconds < 1 || options->wait_seconds > WAIT_SECONDS_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "--wait must be 1..%d seconds", WAIT_SECONDS_MAX);
      return FALSE;
    }
  if (options->plugin_dir != NULL && !g_file_test (options->plugin_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND,
                   "plugin directory %s does not exist", options->plugin_dir);
      return FALSE;
    }
  *ret_outcome = CHATD_OPTIONS_PARSED;
  return TRUE;
}

const char *
chatd_node_options_node_name (const ChatdNodeOptions *options)
{
  return options->role == CHATD_ROLE_SERVER ? "server" : options->user;
}

void
chatd_node_options_clear (ChatdNodeOptions *options)
{
  g_free (options->user);
  g_free (options->connect);
  g_free (options->listen);
  g_free (options->advertise);
  g_free (options->password_file);
  g_free (options->server_key);
  g_free (options->server_fingerprint);
  g_free (options->user_suite);
  g_free (options->enroll_token);
  g_free (options->state_dir);
  g_free (options->socket_path);
  g_free (options->plugin_dir);
  g_free (options->config_file);
  g_strfreev (options->critical_plugins);
  g_strfreev (options->disabled_plugins);
  memset (options, 0, sizeof *options);
}
