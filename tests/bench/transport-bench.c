/* transport-bench: our transport side by side with raw UDP, kernel TCP and
 * ENet, in one run, printed as one table (doc/bench.md).
 *
 * Rows: goodput of bulk transfers; echo round-trip latency (p50/p99/p99.9)
 * for small and large messages; both without loss (direct, loopback) and at
 * 1 %, 5 %, 20 % random loss in each direction (UDP contenders through
 * netsim-relay; kernel TCP in two network namespaces with nftables loss,
 * where that is available); and KCP's own test scenario.  Each measurement
 * runs --reps times; the table shows medians.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "bench.h"
#include "bench-netns.h"
#include "bench-run.h"

typedef struct {
  gboolean quick;
  guint64 seed;
  guint reps;
  guint reps_lossy;
  char *rows;
  char *losses;
  char *contenders;
  char *sizes;
  guint echo_samples;
  guint kcp_seeds;
  guint kcp_samples;
  double time_limit;
  char *relay;
  gboolean no_netns;
  char *kcp_losses;
} Options;

typedef struct {
  char *test;
  guint loss;
  const BenchContender *contender;
  gboolean na;
  char *result;      /* text of the result column */
  double value;      /* goodput MiB/s, or echo p50 / KCP average in µs */
  double p99;        /* echo / KCP, µs */
  double cpu_per_mib;
  double wire_ratio;
  double x_udp;      /* NAN if not applicable */
  double x_enet;
  char *note;
} Row;

static GPtrArray *rows;
static guint failures;      /* measurements that ended in an error */

static const BenchContender *const all_contenders[] = {
  &bench_contender_udp,
  &bench_contender_udp_gro,
  &bench_contender_tcp,
  &bench_contender_enet,
#ifdef HAVE_BENCH_CHATD
  &bench_contender_chatd,
  &bench_contender_chatd_core,
#endif
};

static gboolean
list_has (const char *list, const char *item)
{
  g_auto (GStrv) parts = g_strsplit (list, ",", -1);
  return g_strv_contains ((const char *const *) parts, item);
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Median of the values that are numbers (NaN: a run without a result). */
static double
median (GArray *values)
{
  for (guint i = values->len; i > 0; i--)
    if (isnan (g_array_index (values, double, i - 1)))
      g_array_remove_index_fast (values, i - 1);
  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_double);
  if (values->len % 2 == 1)
    return g_array_index (values, double, values->len / 2);
  return (g_array_index (values, double, values->len / 2 - 1) + g_array_index (values, double, values->len / 2)) / 2;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double
percentile (GArray *sorted, double p)
{
  gsize rank;
  if (sorted->len == 0)
    return NAN;
  rank = (gsize) ceil (p / 100.0 * sorted->len);
  rank = CLAMP (rank, 1, sorted->len);
  return (double) g_array_index (sorted, gint64, rank - 1);
}

static Row *
row_add (const char *test, guint loss, const BenchContender *c)
{
  Row *r = g_new0 (Row, 1);
  r->test = g_strdup (test);
  r->loss = loss;
  r->contender = c;
  r->value = r->p99 = r->cpu_per_mib = r->wire_ratio = r->x_udp = r->x_enet = NAN;
  g_ptr_array_add (rows, r);
  return r;
}

static Row *
row_find (const char *test, guint loss, const char *contender)
{
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];
      if (!r->na && r->loss == loss && strcmp (r->test, test) == 0 && strcmp (r->contender->name, contender) == 0)
        return r;
    }
  return NULL;
}

static void
progress (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
progress (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  fprintf (stderr, "transport-bench: ");
  vfprintf (stderr, format, ap);
  fprintf (stderr, "\n");
  va_end (ap);
}

/* How a contender reaches its server at a given loss: fills path, or says why not. */
static gboolean
make_path (const Options *o, const BenchContender *c, guint loss, guint rep, BenchNetns *netns,
           const char *const *relay_args, BenchPath *ret, char **ret_why)
{
  BenchPath p = { .contender = c, .server_ip = "127.0.0.1" };

  if (loss > 0)
    {
      if (!c->reliable)
        {
          *ret_why = g_strdup ("no loss recovery");
          return FALSE;
        }
      if (c->over_udp)
        {
          p.relay_path = o->relay;
          p.relay_args = relay_args;
          p.relay_seed = o->seed + rep;
        }
      else if (netns->created == 2)
        {
          p.server_ip = netns->server_ip;
          p.server_netns = netns->server_ns;
          p.client_netns = netns->client_ns;
        }
      else
        {
          *ret_why = g_strdup ("no netns/nftables");
          return FALSE;
        }
    }
  *ret = p;
  return TRUE;
}

static void
measure_goodput (const Options *o, const BenchContender *c, guint loss, guint64 bytes,
                 BenchNetns *netns, const char *const *relay_args)
{
  g_autofree char *test = g_strdup_printf ("goodput %" G_GUINT64_FORMAT " MiB", bytes >> 20);
  g_autoptr (GArray) rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) cpus = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) wires = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) delivered = g_array_new (FALSE, FALSE, sizeof (double));
  Row *row;
  guint partial = 0;
  /* At 20 % loss ENet needs several seconds to get going: longer runs there. */
  double limit = loss == 0 ? MAX (o->time_limit, 30) : loss >= 20 ? o->time_limit * 2.5 : o->time_limit;

  if (bytes < (1 << 20))
    {
      g_free (test);
      test = g_strdup_printf ("goodput %" G_GUINT64_FORMAT " KiB", bytes >> 10);
    }
  row = row_add (test, loss, c);
  guint reps = loss > 0 ? o->reps_lossy : o->reps;

  for (guint rep = 0; rep < reps; rep++)
    {
      BenchPath path;
      BenchOutcome out = { 0 };
      g_autoptr (GError) error = NULL;
      char *why = NULL;
      double mib, v;

      if (!make_path (o, c, loss, rep, netns, relay_args, &path, &why))
        {
          row->na = TRUE;
          row->result = why;
          return;
        }
      if (!bench_run_transfer (&path, bytes, limit, &out, &error))
        {
          row->na = TRUE;
          row->result = g_strdup_printf ("error: %s", error->message);
          failures++;
          progress ("%s %u%% %s: %s", test, loss, c->name, error->message);
          return;
        }
      mib = (double) out.delivered / (1 << 20);
      v = mib / out.seconds;
      g_array_append_val (rates, v);
      v = mib > 0 ? out.cpu_s / mib : NAN;
      g_array_append_val (cpus, v);
      v = out.delivered > 0 ? (double) out.wire_bytes / (double) out.delivered : NAN;
      g_array_append_val (wires, v);
      v = (double) out.delivered / (double) bytes * 100.0;
      g_array_append_val (delivered, v);
      partial += c->reliable && out.partial;
      progress ("%s %u%% %s rep %u: %.1f MiB/s, %.2fs, cpu %.3fs (relay %.3fs), wire %.3f, delivered %.1f%%%s",
                test, loss, c->name, rep + 1, mib / out.seconds, out.seconds, out.cpu_s, out.relay_cpu_s,
                (double) out.wire_bytes / MAX (1.0, (double) out.delivered),
                (double) out.delivered / (double) bytes * 100.0, out.partial ? " (partial)" : "");
      bench_outcome_clear (&out);
    }
  row->value = median (rates);
  row->cpu_per_mib = median (cpus);
  row->wire_ratio = median (wires);
  row->result = g_strdup_printf ("%.1f MiB/s", row->value);
  if (!c->reliable)
    row->note = g_strdup_printf ("%.1f%% arrived", median (delivered));
  else if (partial > 0)
    row->note = g_strdup_printf ("%u/%u runs hit the %.0f s limit (%.0f%% done)", partial, reps,
                                 limit, median (delivered));
}

static char *
format_us (double us)
{
  if (isnan (us))
    return g_strdup ("-");
  if (us < 10000)
    return g_strdup_printf ("%.0f us", us);
  return g_strdup_printf ("%.1f ms", us / 1000);
}

static void
measure_echo (const Options *o, const BenchContender *c, guint loss, gsize size, guint samples,
              BenchNetns *netns, const char *const *relay_args)
{
  g_autofree char *test = size >= 1024 ? g_strdup_printf ("echo %zu KiB", size / 1024)
                                       : g_strdup_printf ("echo %zu B", size);
  g_autoptr (GArray) p50 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) p99 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) p999 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) wires = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) answered = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) cpu_per_echo = g_array_new (FALSE, FALSE, sizeof (double));
  Row *row = row_add (test, loss, c);

  if (c->max_message != 0 && size > c->max_message)
    {
      row->na = TRUE;
      row->result = g_strdup ("message too large");
      return;
    }
  for (guint rep = 0; rep < (loss > 0 ? o->reps_lossy : o->reps); rep++)
    {
      BenchPath path;
      BenchOutcome out = { 0 };
      g_autoptr (GError) error = NULL;
      char *why = NULL;
      double v;

      if (!make_path (o, c, loss, rep, netns, relay_args, &path, &why))
        {
          row->na = TRUE;
          row->result = why;
          return;
        }
      if (!bench_run_echo (&path, size, samples, 0, o->time_limit, &out, &error))
        {
          row->na = TRUE;
          row->result = g_strdup_printf ("error: %s", error->message);
          failures++;
          progress ("%s %u%% %s: %s", test, loss, c->name, error->message);
          return;
        }
      g_array_sort (out.rtt_us, compare_gint64);
      v = percentile (out.rtt_us, 50);
      g_array_append_val (p50, v);
      v = percentile (out.rtt_us, 99);
      g_array_append_val (p99, v);
      v = percentile (out.rtt_us, 99.9);
      g_array_append_val (p999, v);
      v = out.delivered > 0 ? (double) out.wire_bytes / (double) out.delivered : NAN;
      g_array_append_val (wires, v);
      v = (double) out.rtt_us->len;
      g_array_append_val (answered, v);
      v = out.rtt_us->len > 0 ? out.cpu_s * 1e6 / out.rtt_us->len : NAN;
      g_array_append_val (cpu_per_echo, v);
      progress ("%s %u%% %s rep %u: p50 %.0f p99 %.0f p99.9 %.0f us, %u/%u answered", test, loss,
                c->name, rep + 1, percentile (out.rtt_us, 50), percentile (out.rtt_us, 99),
                percentile (out.rtt_us, 99.9), out.rtt_us->len, out.samples_sent);
      bench_outcome_clear (&out);
    }
  row->value = median (p50);
  row->p99 = median (p99);
  row->wire_ratio = median (wires);
  {
    g_autofree char *a = format_us (row->value), *b = format_us (row->p99), *c3 = format_us (median (p999));
    row->result = g_strdup_printf ("%s / %s / %s", a, b, c3);
  }
  {
    double fewest = G_MAXDOUBLE;
    guint short_runs = 0;
    for (guint i = 0; i < answered->len; i++)
      {
        double a = g_array_index (answered, double, i);
        fewest = MIN (fewest, a);
        short_runs += a < samples;
      }
    if (short_runs > 0)
      row->note = g_strdup_printf ("cpu %.0f us/echo; %u/%u runs cut short (fewest %.0f/%u answered)",
                                   median (cpu_per_echo), short_runs, answered->len, fewest, samples);
    else
      row->note = g_strdup_printf ("cpu %.0f us/echo", median (cpu_per_echo));
  }
}

/* KCP's test.cpp: an 8-byte message every 20 ms, echoed, 1000 samples, per
 * direction the same loss (KCP: lostrate 10 % per round trip, halved per
 * direction) and a one-way delay uniform in 30..62 ms (rtt 60..125 ms),
 * in order (its simulator's queue never reorders). */
static void
measure_kcp (const Options *o, const BenchContender *c, guint loss)
{
  g_autoptr (GArray) pooled = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *loss_arg = g_strdup_printf ("--loss=%u", loss);
  const char *relay_args[] = { loss_arg, "--delay=46", "--jitter=16", "--fifo", NULL };
  g_autofree char *test = g_strdup_printf ("KCP scenario");
  Row *row = row_add (test, loss, c);
  g_autofree BenchPath *paths = g_new0 (BenchPath, o->kcp_seeds);
  g_autofree BenchOutcome *outs = g_new0 (BenchOutcome, o->kcp_seeds);
  g_autoptr (GError) error = NULL;
  double limit = o->kcp_samples * 0.020 + 30;
  guint sent = 0;
  double sum = 0;
  guint64 wire = 0, delivered = 0;

  /* The seeds run at once: an 8-byte message every 20 ms is a light load. */
  for (guint seed = 0; seed < o->kcp_seeds; seed++)
    paths[seed] = (BenchPath) { .contender = c, .server_ip = "127.0.0.1", .relay_path = o->relay,
                                .relay_args = relay_args, .relay_seed = o->seed + 100 + seed };
  if (!bench_run_echo_parallel (paths, o->kcp_seeds, 8, o->kcp_samples, 20000, limit, outs, &error))
    {
      row->na = TRUE;
      row->result = g_strdup_printf ("error: %s", error->message);
      failures++;
      progress ("KCP scenario %s: %s", c->name, error->message);
      return;
    }
  for (guint seed = 0; seed < o->kcp_seeds; seed++)
    {
      BenchOutcome *out = &outs[seed];
      g_array_append_vals (pooled, out->rtt_us->data, out->rtt_us->len);
      sent += out->samples_sent;
      wire += out->wire_bytes;
      delivered += out->delivered;
      g_array_sort (out->rtt_us, compare_gint64);
      progress ("KCP scenario %u%% %s seed %u: %u/%u answered, p50 %.0f max %.0f ms", loss, c->name,
                seed, out->rtt_us->len, out->samples_sent, percentile (out->rtt_us, 50) / 1000,
                percentile (out->rtt_us, 100) / 1000);
      bench_outcome_clear (out);
    }
  g_array_sort (pooled, compare_gint64);
  for (guint i = 0; i < pooled->len; i++)
    sum += (double) g_array_index (pooled, gint64, i);
  row->value = pooled->len > 0 ? sum / pooled->len : NAN;
  row->p99 = percentile (pooled, 99);
  row->wire_ratio = delivered > 0 ? (double) wire / (double) delivered : NAN;
  row->result = g_strdup_printf ("avg %.0f / p99 %.0f / max %.0f ms", row->value / 1000, row->p99 / 1000,
                                 percentile (pooled, 100) / 1000);
  row->note = g_strdup_printf ("%u seeds x %u, %u/%u answered", o->kcp_seeds, o->kcp_samples,
                               pooled->len, sent);
}

static double
ratio (double a, double b)
{
  return (isnan (a) || isnan (b) || b <= 0) ? NAN : a / b;
}

static void
compute_ratios (void)
{
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];
      Row *udp = row_find (r->test, 0, "udp");
      Row *enet = row_find (r->test, r->loss, "enet");
      if (r->na)
        continue;
      if (g_str_has_prefix (r->test, "goodput"))
        {
          if (udp != NULL)
            r->x_udp = ratio (r->value, udp->value);
          if (enet != NULL)
            r->x_enet = ratio (r->value, enet->value);
        }
      else if (g_str_has_prefix (r->test, "echo"))
        {
          if (udp != NULL)
            r->x_udp = ratio (r->value, udp->value);      /* p50 against raw UDP ping-pong */
          if (enet != NULL)
            r->x_enet = ratio (r->p99, enet->p99);        /* p99 against ENet */
        }
      else if (enet != NULL)
        r->x_enet = ratio (r->value, enet->value);        /* KCP: average RTT */
    }
}

static char *
format_number (double v, int decimals)
{
  return isnan (v) ? g_strdup ("-") : g_strdup_printf ("%.*f", decimals, v);
}

static char *
load_average (void)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) parts = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  parts = g_strsplit (text, " ", 4);
  return g_strdup (parts[0] != NULL ? parts[0] : "?");
}

static char *load_at_start;

static void
print_table (const Options *o)
{
  fprintf (stdout, "\n%-16s %5s  %-10s  %-34s %7s %7s %10s %8s  %s\n", "test", "loss", "contender",
           "result (median)", "x UDP", "x ENet", "cpu s/MiB", "wire/B", "note");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];
      g_autofree char *loss = g_strdup_printf ("%u%%", r->loss);
      g_autofree char *xu = format_number (r->x_udp, 2);
      g_autofree char *xe = format_number (r->x_enet, 2);
      g_autofree char *cpu = format_number (r->cpu_per_mib, 4);
      g_autofree char *wire = format_number (r->wire_ratio, 3);

      if (r->na)
        fprintf (stdout, "%-16s %5s  %-10s  n/a (%s)\n", r->test, loss, r->contender->name, r->result);
      else
        fprintf (stdout, "%-16s %5s  %-10s  %-34s %7s %7s %10s %8s  %s\n", r->test, loss,
                 r->contender->name, r->result, xu, xe, cpu, wire, r->note ? r->note : "");
    }
  fprintf (stdout, "\nx UDP: goodput / raw UDP goodput (0%% loss); echo p50 / raw UDP ping-pong p50.\n"
                   "x ENet: goodput / ENet goodput; echo p99 / ENet p99; KCP average / ENet average "
                   "(same loss).\ncpu s/MiB: CPU of both sides (RUSAGE_THREAD, from the connection on) per MiB delivered; "
                   "echo rows: CPU per echo in the note. "
                   "wire/B: bytes both sides sent\n(IP + UDP/TCP headers included) per payload byte "
                   "delivered. Medians of %u runs (%u under loss); seed %" G_GUINT64_FORMAT ".\n",
           o->reps, o->reps_lossy, o->seed);
  {
    g_autofree char *load_now = load_average ();
    fprintf (stdout, "Load average (1 min) at start %s, at end %s, on %ld CPUs: other work on the machine "
             "shows up as noise.\n", load_at_start, load_now, sysconf (_SC_NPROCESSORS_ONLN));
  }
}

static gboolean
parse_u64_list (const char *text, guint64 scale, GArray *ret, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      double v;
      char *end = NULL;
      guint64 x;
      v = g_ascii_strtod (*p, &end);
      if (**p == '\0' || *end != '\0' || !(v >= 0) || v > 1e6)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "bad number \"%s\" in \"%s\"", *p, text);
          return FALSE;
        }
      x = (guint64) (v * (double) scale);
      g_array_append_val (ret, x);
    }
  return TRUE;
}

static void
options_clear (Options *o)
{
  g_free (o->rows);
  g_free (o->losses);
  g_free (o->contenders);
  g_free (o->sizes);
  g_free (o->relay);
  g_free (o->kcp_losses);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

int
main (int argc, char **argv)
{
  g_auto (Options) o = { .seed = 1, .reps = 0, .time_limit = 0 };
  gint64 seed = 1;
  int reps = 0, echo_samples = 0, kcp_seeds = 0, kcp_samples = 0;
  double time_limit = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) losses = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  const GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &o.quick, "Smaller sizes and fewer samples (under 2 minutes)", NULL },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Base seed of the relay's random generator (default 1)", "N" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &reps, "Runs per measurement; the median is shown (default 3; quick: 1 under loss)", "N" },
    { "rows", 0, 0, G_OPTION_ARG_STRING, &o.rows, "Which rows: goodput,echo,kcp (default all)", "LIST" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &o.losses, "Loss percentages (default 0,1,5,20)", "LIST" },
    { "contenders", 0, 0, G_OPTION_ARG_STRING, &o.contenders, "Which contenders (default udp,udp-gro,tcp,enet,chatd; also chatd-core: our protocol core with the bench's I/O loop)", "LIST" },
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &o.sizes, "Transfer sizes in MiB (default 10,100; quick 2,10)", "LIST" },
    { "echo-samples", 0, 0, G_OPTION_ARG_INT, &echo_samples, "Echo samples per run (default 2000; quick 300)", "N" },
    { "kcp-seeds", 0, 0, G_OPTION_ARG_INT, &kcp_seeds, "Seeds for the KCP scenario (default 5; quick 1)", "N" },
    { "kcp-samples", 0, 0, G_OPTION_ARG_INT, &kcp_samples, "Samples per KCP seed (default 1000; quick 150)", "N" },
    { "kcp-loss", 0, 0, G_OPTION_ARG_STRING, &o.kcp_losses, "KCP scenario: loss per direction in %, "
      "a list (default 5,10: KCP's test.cpp says 10 % but its simulator drops half of that per direction; "
      "10 is the harsher reading)", "LIST" },
    { "time-limit", 0, 0, G_OPTION_ARG_DOUBLE, &time_limit, "Seconds a run under loss may take (goodput at 20 % loss: 2.5 times that); goodput is then what arrived in that time (default 6; quick 3)", "S" },
    { "relay", 0, 0, G_OPTION_ARG_FILENAME, &o.relay, "Path of netsim-relay", "PATH" },
    { "no-netns", 0, 0, G_OPTION_ARG_NONE, &o.no_netns, "Do not create network namespaces (TCP under loss: n/a)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- transport benchmark");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "transport-bench: %s\n", error->message);
      return 2;
    }
  o.seed = (guint64) MAX (seed, 0);
  o.reps = reps > 0 ? (guint) reps : 3;
  o.reps_lossy = reps > 0 ? (guint) reps : o.quick ? 1 : 3;
  o.echo_samples = echo_samples > 0 ? (guint) echo_samples : o.quick ? 300 : 2000;
  o.kcp_seeds = kcp_seeds > 0 ? (guint) kcp_seeds : o.quick ? 1 : 5;
  o.kcp_samples = kcp_samples > 0 ? (guint) kcp_samples : o.quick ? 150 : 1000;
  if (o.kcp_losses == NULL)
    o.kcp_losses = g_strdup (o.quick ? "10" : "5,10");
  o.time_limit = time_limit > 0 ? time_limit : o.quick ? 3 : 6;
  if (o.rows == NULL)
    o.rows = g_strdup ("goodput,echo,kcp");
  if (o.losses == NULL)
    o.losses = g_strdup ("0,1,5,20");
  if (o.contenders == NULL)
    o.contenders = g_strdup ("udp,udp-gro,tcp,enet,chatd");
  if (o.sizes == NULL)
    o.sizes = g_strdup (o.quick ? "2,10" : "10,100");
  if (o.relay == NULL)
    o.relay = g_strdup (NETSIM_RELAY_PATH);
  if (!parse_u64_list (o.losses, 1, losses, &error) || !parse_u64_list (o.sizes, 1 << 20, sizes, &error))
    {
      fprintf (stderr, "transport-bench: %s\n", error->message);
      return 2;
    }
  if (!g_file_test (o.relay, G_FILE_TEST_IS_EXECUTABLE))
    {
      fprintf (stderr, "transport-bench: relay %s not found (--relay)\n", o.relay);
      return 2;
    }

  rows = g_ptr_array_new ();
  load_at_start = load_average ();
  if (!o.no_netns)
    bench_netns_remove_stale ();
  progress ("seed %" G_GUINT64_FORMAT ", %u runs per measurement%s", o.seed, o.reps, o.quick ? ", quick" : "");
  for (guint li = 0; li < losses->len; li++)
    {
      guint loss = (guint) g_array_index (losses, guint64, li);
      g_autofree char *loss_arg = g_strdup_printf ("--loss=%u", loss);
      const char *relay_args[] = { loss_arg, NULL };
      BenchNetns netns = { 0 };
      g_autoptr (GError) netns_error = NULL;

      if (loss > 0 && !o.no_netns && list_has (o.contenders, "tcp") &&
          !bench_netns_create (loss, &netns, &netns_error))
        progress ("TCP under loss: n/a (%s)", netns_error->message);

      for (gsize ci = 0; ci < G_N_ELEMENTS (all_contenders); ci++)
        {
          const BenchContender *c = all_contenders[ci];
          /* raw UDP has no loss recovery: its rows are the 0 % limit only */
          if (!list_has (o.contenders, c->name) || (loss > 0 && !c->reliable))
            continue;
          if (list_has (o.rows, "goodput"))
            for (guint si = 0; si < sizes->len; si++)
              measure_goodput (&o, c, loss, g_array_index (sizes, guint64, si), &netns, relay_args);
        }
      for (gsize ci = 0; ci < G_N_ELEMENTS (all_contenders); ci++)
        {
          const BenchContender *c = all_contenders[ci];
          static const gsize echo_sizes[] = { 8, 500, 65536 };
          if (!list_has (o.contenders, c->name) || !list_has (o.rows, "echo") || c == &bench_contender_udp_gro ||
              (loss > 0 && !c->reliable))
            continue;
          for (gsize ei = 0; ei < G_N_ELEMENTS (echo_sizes); ei++)
            {
              guint samples = o.echo_samples;
              if (echo_sizes[ei] > 1000)
                samples = MAX (samples / 4, 1);
              if (loss > 0)
                samples = MAX (samples / 4, 1);
              measure_echo (&o, c, loss, echo_sizes[ei], samples, &netns, relay_args);
            }
        }
      bench_netns_destroy (&netns);
    }
  if (list_has (o.rows, "kcp"))
    for (gsize ci = 0; ci < G_N_ELEMENTS (all_contenders); ci++)
      {
        const BenchContender *c = all_contenders[ci];
        if (list_has (o.contenders, c->name) && c->reliable && c->over_udp)
          {
            g_auto (GStrv) kcp_losses = g_strsplit (o.kcp_losses, ",", -1);
            for (char **l = kcp_losses; *l != NULL; l++)
              measure_kcp (&o, c, (guint) g_ascii_strtoull (*l, NULL, 10));
          }
      }
  compute_ratios ();
  print_table (&o);
  if (failures > 0)
    {
      fprintf (stderr, "transport-bench: %u measurements failed (see the table)\n", failures);
      return 1;
    }
  return 0;
}
