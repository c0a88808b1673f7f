/* netsim-options.c: the relay's command line (see the header). */
#include "netsim-options.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef gboolean (*NetsimValueParser) (NetsimImpairment *impairment, gsize offset,
                                       const char *value, GError **error);

typedef struct {
  const char *name;
  const char *arg;
  const char *help;
  NetsimValueParser parse;
  gsize offset;
} NetsimImpairmentOption;

static gboolean
parse_double (const char *value, double min, double max, double *ret, GError **error)
{
  char *end = NULL;
  double v;

  errno = 0;
  v = g_ascii_strtod (value, &end);
  if (value[0] == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite (v) ||
      v < min || v > max)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "\"%s\" is not a number between %g and %g", value, min, max);
      return FALSE;
    }
  *ret = v;
  return TRUE;
}

static gboolean
parse_percent (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double v;
  if (!parse_double (value, 0, 100, &v, error))
    return FALSE;
  *(double *) ((char *) imp + offset) = v / 100.0;
  return TRUE;
}

static gboolean
parse_ms (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double v;
  if (!parse_double (value, 0, 600000, &v, error))
    return FALSE;
  *(double *) ((char *) imp + offset) = v;
  return TRUE;
}

static gboolean
parse_rate (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double v;
  if (!parse_double (value, 0, 1e6, &v, error))
    return FALSE;
  imp->rate_mbit = v;
  return TRUE;
}

static gboolean
parse_queue_bytes (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double v;
  if (!parse_double (value, 1500, 1024.0 * 1024 * 1024, &v, error))
    return FALSE;
  imp->queue_bytes = (guint64) v;
  return TRUE;
}

static gboolean
parse_fields (const char *value, guint n, double *ret, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (value, ":", -1);

  if (g_strv_length (parts) != n)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "\"%s\" must have %u fields separated by ':'", value, n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    if (!parse_double (parts[i], 0, 1e9, &ret[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
parse_burst (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double f[3];
  if (!parse_fields (value, 3, f, error))
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (f[i] > 100)
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "\"%s\": each of ENTER:LEAVE:LOSS is a percentage (0-100)", value);
        return FALSE;
      }
  imp->burst_enter = f[0] / 100.0;
  imp->burst_leave = f[1] / 100.0;
  imp->burst_loss = f[2] / 100.0;
  return TRUE;
}

static gboolean
parse_blackhole (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  double f[2];
  NetsimBlackhole b;
  if (!parse_fields (value, 2, f, error))
    return FALSE;
  if (imp->blackholes->len >= 64)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "at most 64 blackholes");
      return FALSE;
    }
  b.start_ms = (guint64) f[0];
  b.duration_ms = (guint64) f[1];
  g_array_append_val (imp->blackholes, b);
  return TRUE;
}

static gboolean
parse_flag (NetsimImpairment *imp, gsize offset, const char *value, GError **error)
{
  *(gboolean *) ((char *) imp + offset) = TRUE;
  return TRUE;
}

static const NetsimImpairmentOption impairment_options[] = {
  { "loss", "PCT", "Random loss in percent", parse_percent, offsetof (NetsimImpairment, loss) },
  { "burst", "ENTER:LEAVE:LOSS", "Gilbert-Elliott burst loss: percent chances per datagram to enter "
    "and to leave the bad state, and loss in the bad state", parse_burst, 0 },
  { "delay", "MS", "One-way delay in milliseconds (fractions allowed)", parse_ms,
    offsetof (NetsimImpairment, delay_ms) },
  { "jitter", "MS", "Delay is uniform in [delay-jitter, delay+jitter]", parse_ms,
    offsetof (NetsimImpairment, jitter_ms) },
  { "reorder", "PCT", "Percent of datagrams held back by --reorder-gap", parse_percent,
    offsetof (NetsimImpairment, reorder) },
  { "reorder-gap", "MS", "How long a reordered datagram is held back (default 5)", parse_ms,
    offsetof (NetsimImpairment, reorder_gap_ms) },
  { "duplicate", "PCT", "Percent of datagrams sent twice", parse_percent,
    offsetof (NetsimImpairment, duplicate) },
  { "corrupt", "PCT", "Percent of datagrams with bits flipped in one random byte", parse_percent,
    offsetof (NetsimImpairment, corrupt) },
  { "blackhole", "START_MS:DURATION_MS", "Drop everything in this window after start (repeatable)",
    parse_blackhole, 0 },
  { "rate", "MBIT", "Serialise at this rate in Mbit/s (0: unlimited)", parse_rate, 0 },
  { "queue-bytes", "BYTES", "With --rate: drop when more than this waits (default 1 MiB)",
    parse_queue_bytes, 0 },
  { "fifo", NULL, "Datagrams never overtake each other (jitter holds the line, as in KCP's "
    "simulator)", parse_flag, offsetof (NetsimImpairment, fifo) },
};

static const char *const direction_suffix[] = { "", "-up", "-down" };

void
netsim_options_init (NetsimOptions *o)
{
  *o = (NetsimOptions) { 0 };
  o->duration_s = 600;
  o->max_clients = 256;
  o->seed = 1;
  netsim_impairment_init (&o->impairment[NETSIM_UP]);
  netsim_impairment_init (&o->impairment[NETSIM_DOWN]);
}

void
netsim_options_clear (NetsimOptions *o)
{
  g_clear_object (&o->listen);
  g_clear_object (&o->upstream);
  netsim_impairment_clear (&o->impairment[NETSIM_UP]);
  netsim_impairment_clear (&o->impairment[NETSIM_DOWN]);
}

GInetSocketAddress *
netsim_parse_address (const char *text, GError **error)
{
  g_autofree char *host = NULL;
  const char *colon, *port_text;
  g_autoptr (GInetAddress) address = NULL;
  guint64 port;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');
      if (close == NULL || close[1] != ':')
        goto bad;
      host = g_strndup (text + 1, close - text - 1);
      port_text = close + 2;
    }
  else
    {
      colon = strrchr (text, ':');
      if (colon == NULL)
        goto bad;
      host = g_strndup (text, colon - text);
      port_text = colon + 1;
    }
  if (!g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    goto bad;
  address = host[0] == '\0' ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                            : g_inet_address_new_from_string (host);
  if (address == NULL)
    goto bad;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, (guint16) port));

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "\"%s\" is not a numeric ADDRESS:PORT (e.g. 127.0.0.1:5000, [::1]:5000, :0)", text);
  return NULL;
}

static gboolean
on_impairment_option (const char *option_name, const char *value, gpointer data, GError **error)
{
  NetsimOptions *o = data;
  const char *name = option_name + 2;   /* GLib passes "--name" */
  gsize name_len = strlen (name);
  int first = NETSIM_UP, last = NETSIM_DOWN;

  if (g_str_has_suffix (name, "-up"))
    {
      name_len -= 3;
      last = NETSIM_UP;
    }
  else if (g_str_has_suffix (name, "-down"))
    {
      name_len -= 5;
      first = NETSIM_DOWN;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (impairment_options); i++)
    {
      const NetsimImpairmentOption *opt = &impairment_options[i];
      if (strlen (opt->name) != name_len || strncmp (opt->name, name, name_len) != 0)
        continue;
      for (int d = first; d <= last; d++)
        if (!opt->parse (&o->impairment[d], opt->offset, value, error))
          {
            g_prefix_error (error, "%s: ", option_name);
            return FALSE;
          }
      return TRUE;
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "unknown option %s", option_name);
  return FALSE;
}

gboolean
netsim_options_parse (NetsimOptions *o, int *argc, char ***argv, GError **error)
{
  g_autofree char *listen = NULL;
  g_autofree char *upstream = NULL;
  gint64 seed = 1;
  double duration = 600;
  int max_clients = 256;
  const GOptionEntry main_entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Address to listen on (default 127.0.0.1:0; "
      "the chosen one is printed as the first line: LISTEN ADDRESS:PORT)", "ADDRESS:PORT" },
    { "upstream", 'u', 0, G_OPTION_ARG_STRING, &upstream, "Where to forward to (required)",
      "ADDRESS:PORT" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the random generator (default 1)", "N" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, "Exit after this many seconds "
      "(default 600)", "SECONDS" },
    { "max-clients", 0, 0, G_OPTION_ARG_INT, &max_clients, "Most client addresses served "
      "(default 256)", "N" },
    { NULL }
  };
  /* names and entries outlive the context, which refers to them */
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  g_autoptr (GOptionContext) context = g_option_context_new ("- UDP impairment relay");
  GOptionGroup *group;

  g_option_context_set_summary (context,
    "Forwards UDP datagrams between clients and one upstream address, with seeded loss,\n"
    "burst loss, delay, jitter, reordering, duplication, corruption, blackholes and a rate\n"
    "limit per direction.  --NAME applies to both directions, --NAME-up to client->upstream,\n"
    "--NAME-down to upstream->client.  Counters and CPU use go to stderr on exit.");
  g_option_context_add_main_entries (context, main_entries, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (impairment_options); i++)
    for (gsize s = 0; s < G_N_ELEMENTS (direction_suffix); s++)
      {
        const NetsimImpairmentOption *opt = &impairment_options[i];
        char *name = g_strconcat (opt->name, direction_suffix[s], NULL);
        GOptionEntry e = {
          .long_name = name,
          .flags = opt->arg == NULL ? G_OPTION_FLAG_NO_ARG : 0,
          .arg = G_OPTION_ARG_CALLBACK,
          .arg_data = (gpointer) on_impairment_option,
          .description = s == 0 ? opt->help : NULL,
          .arg_description = opt->arg,
        };
        if (s != 0)
          e.flags |= G_OPTION_FLAG_HIDDEN;
        g_ptr_array_add (names, name);
        g_array_append_val (entries, e);
      }
  group = g_option_group_new ("impairments", "Impairments (each also as --NAME-up and --NAME-down):",
                              "Show the impairment options", o, NULL);
  g_option_group_add_entries (group, (const GOptionEntry *) entries->data);
  g_option_context_add_group (context, group);
  g_option_context_set_help_enabled (context, TRUE);

  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unexpected argument \"%s\"", (*argv)[1]);
      return FALSE;
    }
  if (upstream == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--upstream ADDRESS:PORT is required");
      return FALSE;
    }
  if (seed < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--seed must not be negative");
      return FALSE;
    }
  if (!(duration > 0 && duration <= 86400))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--duration must be between 0 and 86400 seconds");
      return FALSE;
    }
  if (max_clients < 1 || max_clients > 65536)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--max-clients must be 1..65536");
      return FALSE;
    }
  o->upstream = netsim_parse_address (upstream, error);
  if (o->upstream == NULL)
    {
      g_prefix_error (error, "--upstream: ");
      return FALSE;
    }
  o->listen = netsim_parse_address (listen != NULL ? listen : "127.0.0.1:0", error);
  if (o->listen == NULL)
    {
      g_prefix_error (error, "--listen: ");
      return FALSE;
    }
  if (g_inet_address_get_family (g_inet_socket_address_get_address (o->listen)) !=
      g_inet_address_get_family (g_inet_socket_address_get_address (o->upstream)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--listen and --upstream must be the same address family");
      return FALSE;
    }
  if (g_inet_socket_address_get_port (o->upstream) == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--upstream needs a port other than 0");
      return FALSE;
    }
  o->seed = (guint64) seed;
  o->duration_s = duration;
  o->max_clients = (guint) max_clients;
  return TRUE;
}
