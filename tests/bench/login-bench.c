/* login-bench.c: login load on a real server (issue 5, "Benchmark").
 *
 *   build/tests/bench/login-bench [--quick] [--users N] [--runs R] ...
 *
 * 1. starts `chatd --server` (temporary directories, pow-bits and Argon2id
 *    cost lowered) and adds N users with `chatctl useradd --password-stdin`;
 * 2. logs in all N simulated users from this process (login-swarm.c), a
 *    bounded number at a time, R times (logging them out in between), and
 *    keeps the first run's sessions alive with heartbeats for --hold s;
 *    reports logins per second (median of the runs), the server's CPU per
 *    login (/proc/PID/stat) and its memory per online user (VmRSS);
 * 3. logs them in once more while a second process (this program with
 *    --flood-worker) floods the server with unauthenticated HELLOs from
 *    many source ports, and reports how many logins still succeed, their
 *    rate, and the proof-of-work difficulty the server asked for.
 *
 * Exit status 1 if a login without the flood failed, a session was lost
 * while held, or the flood did not reach the server.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-server.h"
#include "chatd-crypto.h"
#include "crypto-init.h"
#include "hello-flood.h"
#include "login-swarm.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#ifndef LOGIN_BENCH_CHATD
#define LOGIN_BENCH_CHATD "chatd"
#endif
#ifndef LOGIN_BENCH_CHATCTL
#define LOGIN_BENCH_CHATCTL "chatctl"
#endif
#ifndef LOGIN_BENCH_PLUGIN_DIR
#define LOGIN_BENCH_PLUGIN_DIR "."
#endif

#define USER_PREFIX "lb"

typedef struct {
  gboolean quick, no_presence;
  gint     users, runs, concurrency, pow_bits, kdf_kib, hold_s;
  gint     flood_sockets, flood_rate, flood_lead_s;
  char    *chatd, *chatctl, *plugin_dir;
  char    *flood_worker;     /* internal: run the flood against this address */
  gint     flood_duration_s;
} Options;

typedef struct {
  const char *label;
  SwarmRun    run;
  double      server_cpu_s;
  gint64      server_rss_delta_kib;
  guint64     server_rss_after_kib;
  gint64      server_online;
  guint64     server_retransmitted;   /* packets the server sent again */
  guint64     server_datagrams_sent;
} Row;

static gboolean
parse_address (const char *text, ChatdAddress *ret, GError **error)
{
  g_autofree char *host = g_strdup (text);
  char *colon = strrchr (host, ':');
  if (colon == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not IP:PORT: %s", text);
      return FALSE;
    }
  *colon = '\0';
  return chatd_address_parse (host, (guint16) g_ascii_strtoull (colon + 1, NULL, 10), ret, error);
}

static void
raise_fd_limit (void)
{
  struct rlimit limit;
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/* --flood-worker: the flood in its own process; one result line on stdout */
static int
flood_worker (const Options *o)
{
  g_autoptr(GError) error = NULL;
  FloodConfig config = {
    .sockets = (guint) o->flood_sockets,
    .max_rate = o->flood_rate,
    .duration_us = (gint64) o->flood_duration_s * G_USEC_PER_SEC,
  };
  FloodResult r;
  if (!parse_address (o->flood_worker, &config.server, &error) ||
      !hello_flood_run (&config, 0, &r, &error))
    {
      g_printerr ("login-bench flood: %s\n", error->message);
      return 1;
    }
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  double cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                  (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  printf ("hellos=%" G_GUINT64_FORMAT " challenges=%" G_GUINT64_FORMAT " refusals=%" G_GUINT64_FORMAT
          " timeouts=%" G_GUINT64_FORMAT " bits-first=%u bits-max=%u bits-last=%u cpu-ms=%.0f seconds=%.3f\n",
          r.hellos_sent, r.challenges, r.refusals, r.timeouts, r.bits_first, r.bits_max, r.bits_last,
          cpu_ms, r.seconds);
  return 0;
}

static guint64
flood_value (const char *line, const char *key)
{
  g_autofree char *needle = g_strconcat (key, "=", NULL);
  const char *at = line ? strstr (line, needle) : NULL;
  return at ? g_ascii_strtoull (at + strlen (needle), NULL, 10) : 0;
}

static double
flood_seconds (const char *line)
{
  const char *at = line ? strstr (line, "seconds=") : NULL;
  return at ? g_ascii_strtod (at + strlen ("seconds="), NULL) : 0;
}

/* the machine's load: figures taken on a busy machine say less */
static char *
load_average (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  g_auto(GStrv) parts = g_strsplit (text, " ", 4);
  return g_strv_length (parts) >= 3 ? g_strjoin (" ", parts[0], parts[1], parts[2], NULL) : g_strdup ("?");
}

static gboolean
sample (BenchServer *server, BenchProcSample *ret, GError **error)
{
  return bench_proc_sample (server->pid, ret, error);
}

/* one login phase, measured on the server's side */
static gboolean
measured_login (BenchServer *server, Swarm *swarm, Row *row, GError **error)
{
  BenchProcSample before, after_cpu, after_rss;
  guint64 rtx_before = 0, rtx_after = 0, sent_before = 0, sent_after = 0;
  if (!bench_server_counter (server, "transport.conn.packets_retransmitted", &rtx_before, error) ||
      !bench_server_counter (server, "transport.datagrams_sent", &sent_before, error) ||
      !sample (server, &before, error))
    return FALSE;
  swarm_login_all (swarm, &row->run);
  if (!sample (server, &after_cpu, error))
    return FALSE;
  swarm_hold (swarm, 0.5);   /* presence requests answered, memory settled */
  if (!sample (server, &after_rss, error) ||
      !bench_server_status_int (server, "online", &row->server_online, error) ||
      !bench_server_counter (server, "transport.conn.packets_retransmitted", &rtx_after, error) ||
      !bench_server_counter (server, "transport.datagrams_sent", &sent_after, error))
    return FALSE;
  row->server_retransmitted = rtx_after - rtx_before;
  row->server_datagrams_sent = sent_after - sent_before;
  row->server_cpu_s = after_cpu.cpu_s - before.cpu_s;
  row->server_rss_after_kib = after_rss.rss_kib;
  row->server_rss_delta_kib = (gint64) after_rss.rss_kib - (gint64) before.rss_kib;
  return TRUE;
}

static void
print_row (const Row *row)
{
  const SwarmRun *r = &row->run;
  double ok = MAX (r->succeeded, 1);
  printf ("%-10s %5u/%-5u %9.1f %8.1f %8.1f %9.2f %9.1f %8" G_GINT64_FORMAT " %5u-%-3u %8.1f %7.2f %8"
          G_GUINT64_FORMAT "/%-8" G_GUINT64_FORMAT "\n",
          row->label, r->succeeded, r->attempted, r->logins_per_s, r->latency_p50_ms, r->latency_p99_ms,
          row->server_cpu_s * 1000.0 / ok, (double) row->server_rss_delta_kib / ok, row->server_online,
          r->bits_min, r->bits_max, r->welcome_max_bytes / 1024.0, r->client_cpu_s,
          row->server_retransmitted, row->server_datagrams_sent);
}

static void
print_failures (const Row *row)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, row->run.failures);
  while (g_hash_table_iter_next (&iter, &key, &value))
    printf ("  %s: %u failed: %s\n", row->label, GPOINTER_TO_UINT (value), (const char *) key);
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *values, guint n)
{
  qsort (values, n, sizeof *values, compare_double);
  return n == 0 ? 0 : n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static int
run_benchmark (const Options *o, const char *command_line)
{
  g_autoptr(GError) error = NULL;
  gboolean passed = TRUE;
  BenchServerConfig server_config = {
    .chatd = o->chatd, .chatctl = o->chatctl, .plugin_dir = o->plugin_dir,
    .pow_bits = (guint) o->pow_bits, .kdf_memory_kib = (guint) o->kdf_kib, .kdf_passes = 1,
  };
  g_autofree char *load_before = load_average ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(BenchServer) server = bench_server_start (&server_config, &error);
  if (server == NULL)
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }
  gint64 t1 = g_get_monotonic_time ();
  if (!bench_server_add_users (server, USER_PREFIX, (guint) o->users, 8, &error))
    {
      g_printerr ("login-bench: adding users: %s\n", error->message);
      return 1;
    }
  double add_s = (g_get_monotonic_time () - t1) / (double) G_USEC_PER_SEC;
  SwarmConfig swarm_config = {
    .prefix = USER_PREFIX, .n_users = (guint) o->users, .concurrency = (guint) o->concurrency,
    .login_timeout_us = 30 * G_USEC_PER_SEC, .phase_timeout_us = 120 * G_USEC_PER_SEC,
    .no_presence = o->no_presence,
  };
  if (!parse_address (server->listen, &swarm_config.server, &error))
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }
  g_autoptr(Swarm) swarm = swarm_new (&swarm_config, &error);
  if (swarm == NULL)
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }
  BenchProcSample idle;
  if (!sample (server, &idle, &error))
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }

  guint n_rows = (guint) o->runs + 1;
  g_autofree Row *rows = g_new0 (Row, n_rows);
  gint64 held_online = -1;
  guint64 heartbeats = 0;
  guint dropped = 0;
  for (guint i = 0; i < (guint) o->runs; i++)
    {
      Row *row = &rows[i];
      g_autofree char *label = g_strdup_printf ("run %u", i + 1);
      row->label = g_intern_string (label);
      if (!measured_login (server, swarm, row, &error))
        break;
      if (row->run.succeeded != (guint) o->users || row->server_online != o->users)
        passed = FALSE;
      if (i == 0 && o->hold_s > 0)
        {
          guint64 hb_before = swarm_n_heartbeats (swarm);
          swarm_hold (swarm, o->hold_s);
          heartbeats = swarm_n_heartbeats (swarm) - hb_before;
          if (!bench_server_status_int (server, "online", &held_online, &error))
            break;
          dropped = swarm_n_dropped (swarm);
          if (held_online != o->users || dropped != 0)
            passed = FALSE;
        }
      swarm_logout_all (swarm);
    }

  /* the same under a HELLO flood from another process */
  Row *flood_row = &rows[o->runs];
  flood_row->label = "flood";
  g_autofree char *flood_line = NULL;
  guint64 hellos_before = 0, hellos_after = 0, succeeded_before = 0, succeeded_after = 0;
  double flood_login_s = 0;
  if (error == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *sockets = g_strdup_printf ("%d", o->flood_sockets);
      g_autofree char *rate = g_strdup_printf ("%d", o->flood_rate);
      g_autoptr(GSubprocess) flood = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                                       &error, self, "--flood-worker", server->listen,
                                                       "--flood-sockets", sockets, "--flood-rate", rate, NULL);
      if (flood != NULL)
        {
          swarm_hold (swarm, o->flood_lead_s);
          gint64 f0 = g_get_monotonic_time ();
          if (bench_server_counter (server, "login.hellos", &hellos_before, &error) &&
              bench_server_counter (server, "login.succeeded", &succeeded_before, &error) &&
              measured_login (server, swarm, flood_row, &error) &&
              bench_server_counter (server, "login.hellos", &hellos_after, &error))
            bench_server_counter (server, "login.succeeded", &succeeded_after, &error);
          flood_login_s = (g_get_monotonic_time () - f0) / (double) G_USEC_PER_SEC;
          g_autoptr(GError) flood_error = NULL;
          if (!g_subprocess_communicate_utf8 (flood, NULL, NULL, &flood_line, NULL, &flood_error) ||
              !g_subprocess_get_if_exited (flood) || g_subprocess_get_exit_status (flood) != 0)
            {
              g_printerr ("login-bench: the flood process failed%s%s\n", flood_error ? ": " : "",
                          flood_error ? flood_error->message : "");
              passed = FALSE;
            }
          swarm_logout_all (swarm);
        }
    }
  if (error != NULL)
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }

  if (g_getenv ("LOGIN_BENCH_STATS") != NULL)
    {
      g_autoptr(JsonNode) stats = NULL;
      if (bench_server_ctl (server, (const char *const []) { "stats", NULL }, NULL, &stats, NULL))
        {
          g_autofree char *text = json_to_string (stats, TRUE);
          printf ("server stats at the end:\n%s\n", text);
        }
    }

  /* the table */
  double rates[64], cpu[64];
  guint n_runs = MIN ((guint) o->runs, G_N_ELEMENTS (rates));
  for (guint i = 0; i < n_runs; i++)
    {
      rates[i] = rows[i].run.logins_per_s;
      cpu[i] = rows[i].server_cpu_s * 1000.0 / MAX (rows[i].run.succeeded, 1);
    }
  printf ("\nlogin-bench: %s\n", command_line);
  printf ("server: chatd --server on %s (pid %d), pow-bits %d, Argon2id %d KiB x 1 pass; "
          "%d users added in %.1f s (start+seed %.1f s); %d logins in flight at most\n",
          server->listen, server->pid, o->pow_bits, o->kdf_kib, o->users, add_s,
          (t1 - t0) / (double) G_USEC_PER_SEC, o->concurrency);
  g_autofree char *load_after = load_average ();
  printf ("server RSS: %" G_GUINT64_FORMAT " KiB with no one online; load average %s at the start, "
          "%s at the end (%u CPUs)\n\n", idle.rss_kib, load_before, load_after, g_get_num_processors ());
  printf ("%-10s %11s %9s %8s %8s %9s %9s %8s %9s %8s %7s %17s\n", "phase", "ok/tried", "logins/s", "p50 ms",
          "p99 ms", "srv ms/lg", "KiB/user", "online", "pow bits", "welc KiB", "cli s", "srv rtx/datagrams");
  for (guint i = 0; i < n_rows; i++)
    print_row (&rows[i]);
  printf ("\nmedian of %u runs: %.1f logins/s, server CPU %.2f ms per login; server memory %.1f KiB "
          "per online user (run 1: VmRSS %+" G_GINT64_FORMAT " KiB for %u users)\n",
          n_runs, median (rates, n_runs), median (cpu, n_runs),
          (double) rows[0].server_rss_delta_kib / MAX (rows[0].run.succeeded, 1),
          rows[0].server_rss_delta_kib, rows[0].run.succeeded);
  if (o->hold_s > 0)
    printf ("held %d s with heartbeats (%" G_GUINT64_FORMAT " sent): server shows %" G_GINT64_FORMAT
            " online, %u sessions lost\n", o->hold_s, heartbeats, held_online, dropped);
  guint64 flood_hellos = flood_value (flood_line, "hellos");
  double fs = flood_seconds (flood_line);
  guint64 server_hellos = hellos_after - hellos_before;
  printf ("flood: %d sockets, at most %d HELLO/s: sent %" G_GUINT64_FORMAT " in %.1f s (%.0f/s, "
          "flood process CPU %.1f s), "
          "%" G_GUINT64_FORMAT " challenged, %" G_GUINT64_FORMAT " unanswered; server counted %"
          G_GUINT64_FORMAT " hellos in the %.1f s of logins (%.0f/s); difficulty %u bits at the "
          "flood's first challenge, up to %u (base %d; our logins saw %u-%u)\n",
          o->flood_sockets, o->flood_rate, flood_hellos, fs, fs > 0 ? flood_hellos / fs : 0,
          flood_value (flood_line, "cpu-ms") / 1000.0,
          flood_value (flood_line, "challenges"), flood_value (flood_line, "timeouts"), server_hellos,
          flood_login_s, flood_login_s > 0 ? server_hellos / flood_login_s : 0,
          (guint) flood_value (flood_line, "bits-first"), (guint) flood_value (flood_line, "bits-max"),
          o->pow_bits, flood_row->run.bits_min, flood_row->run.bits_max);
  printf ("under the flood: %u of %u logins succeeded (%.1f%%) at %.1f logins/s; the server "
          "counted %" G_GUINT64_FORMAT " successful logins meanwhile\n",
          flood_row->run.succeeded, flood_row->run.attempted,
          100.0 * flood_row->run.succeeded / MAX (flood_row->run.attempted, 1), flood_row->run.logins_per_s,
          succeeded_after - succeeded_before);
  for (guint i = 0; i < n_rows; i++)
    print_failures (&rows[i]);
  if (flood_hellos == 0 || server_hellos <= flood_row->run.attempted)
    {
      printf ("FAIL: the flood did not reach the server\n");
      passed = FALSE;
    }
  if (!passed)
    printf ("FAIL: see above (every login without the flood must succeed and stay online)\n");
  for (guint i = 0; i < n_rows; i++)
    g_clear_pointer (&rows[i].run.failures, g_hash_table_unref);
  return passed ? 0 : 1;
}

int
main (int argc, char **argv)
{
  Options o = {
    .users = -1, .runs = -1, .concurrency = 64, .pow_bits = 6, .kdf_kib = 256, .hold_s = -1,
    .flood_sockets = 256, .flood_rate = 20000, .flood_lead_s = 2, .flood_duration_s = 300,
  };
  g_autofree char *command_line = g_strjoinv (" ", argv);
  GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &o.quick, "Smoke test: 100 users, no hold", NULL },
    { "users", 'n', 0, G_OPTION_ARG_INT, &o.users, "Simulated users (default 1000; --quick 100)", "N" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &o.runs, "Login runs without the flood (default 3)", "R" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &o.concurrency, "Logins in flight at most (64)", "C" },
    { "pow-bits", 0, 0, G_OPTION_ARG_INT, &o.pow_bits, "The server's base difficulty (6)", "BITS" },
    { "kdf-memory-kib", 0, 0, G_OPTION_ARG_INT, &o.kdf_kib, "Argon2id memory of the users' blobs (256)", "KIB" },
    { "hold", 0, 0, G_OPTION_ARG_INT, &o.hold_s, "Keep run 1's sessions this long (35; --quick 0)", "S" },
    { "flood-sockets", 0, 0, G_OPTION_ARG_INT, &o.flood_sockets, "Flood source ports (256)", "N" },
    { "flood-rate", 0, 0, G_OPTION_ARG_INT, &o.flood_rate, "Flood HELLOs per second at most (20000)", "R" },
    { "flood-lead", 0, 0, G_OPTION_ARG_INT, &o.flood_lead_s, "Flood this long before the logins (2)", "S" },
    { "no-presence", 0, 0, G_OPTION_ARG_NONE, &o.no_presence,
      "Send no presence request: users stay out of the manifest (small WELCOME)", NULL },
    { "chatd", 0, 0, G_OPTION_ARG_FILENAME, &o.chatd, "The chatd executable", "PATH" },
    { "chatctl", 0, 0, G_OPTION_ARG_FILENAME, &o.chatctl, "The chatctl executable", "PATH" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.plugin_dir, "chatd's plugin directory", "DIR" },
    { "flood-worker", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &o.flood_worker, NULL, NULL },
    { "flood-duration", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &o.flood_duration_s, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- login load on a real chatd server");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 2;
    }
  if (o.users < 0)
    o.users = o.quick ? 100 : 1000;
  if (o.runs < 0)
    o.runs = 3;
  if (o.hold_s < 0)
    o.hold_s = o.quick ? 0 : 35;
  if (o.users < 1 || o.users > 50000 || o.runs < 1 || o.runs > 64 || o.concurrency < 1 ||
      o.flood_sockets < 1 || o.flood_sockets > 4096 || o.flood_rate < 1 || o.pow_bits < 1 ||
      o.pow_bits > 20 || o.flood_duration_s < 1)
    {
      g_printerr ("login-bench: an option is out of range\n");
      return 2;
    }
  if (o.chatd == NULL)
    o.chatd = g_strdup (g_getenv ("CHATD") ? g_getenv ("CHATD") : LOGIN_BENCH_CHATD);
  if (o.chatctl == NULL)
    o.chatctl = g_strdup (g_getenv ("CHATCTL") ? g_getenv ("CHATCTL") : LOGIN_BENCH_CHATCTL);
  if (o.plugin_dir == NULL)
    o.plugin_dir = g_strdup (g_getenv ("CHATD_PLUGIN_DIR") ? g_getenv ("CHATD_PLUGIN_DIR")
                                                           : LOGIN_BENCH_PLUGIN_DIR);
  if (!chatd_crypto_init (&error))
    {
      g_printerr ("login-bench: %s\n", error->message);
      return 1;
    }
  raise_fd_limit ();
  int status = o.flood_worker != NULL ? flood_worker (&o) : run_benchmark (&o, command_line);
  g_free (o.chatd);
  g_free (o.chatctl);
  g_free (o.plugin_dir);
  g_free (o.flood_worker);
  return status;
}
