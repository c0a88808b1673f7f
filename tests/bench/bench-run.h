/* bench-run.h: one measurement (a bulk transfer or an echo series) of one
 * contender over one path, with the receiving/echoing side and the sending
 * side each in its own thread, so that each side's CPU time is its own
 * (getrusage RUSAGE_THREAD). */
#pragma once

#include "bench.h"

G_BEGIN_DECLS

typedef struct {
  const BenchContender *contender;
  const char *server_ip;         /* the server binds here, port 0 */
  const char *server_netns;      /* NULL: stay in the current network namespace */
  const char *client_netns;
  /* Impairment relay between client and server: NULL for a direct path. */
  const char *relay_path;
  const char *const *relay_args;
  guint64 relay_seed;
} BenchPath;

typedef struct {
  gboolean partial;              /* stopped by the time limit */
  double seconds;                /* transfer: first send to last byte delivered */
  guint64 delivered;             /* transfer: payload bytes delivered */
  double cpu_s;                  /* both sides together */
  guint64 wire_bytes;            /* both sides together */
  guint samples_sent;            /* echo */
  GArray *rtt_us;                /* echo: gint64 per answered sample, in send order */
  double relay_cpu_s;
} BenchOutcome;

void bench_outcome_clear (BenchOutcome *outcome);

gboolean bench_run_transfer (const BenchPath *path, guint64 total_bytes, double time_limit_s,
                             BenchOutcome *ret_outcome, GError **error);

/* interval_us 0: back to back (the next message goes once the previous
 * answer is in); otherwise one message every interval_us, answered or not. */
gboolean bench_run_echo (const BenchPath *path, gsize message_size, guint samples,
                         gint64 interval_us, double time_limit_s, BenchOutcome *ret_outcome,
                         GError **error);

/* The same echo series over several paths at once (e.g. one per seed), each
 * with its own threads and relay; ret_outcomes has n_paths entries. */
gboolean bench_run_echo_parallel (const BenchPath *paths, guint n_paths, gsize message_size,
                                  guint samples, gint64 interval_us, double time_limit_s,
                                  BenchOutcome *ret_outcomes, GError **error);

G_END_DECLS
