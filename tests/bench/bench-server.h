/* bench-server.h: a real `chatd --server` for benchmarks: temporary state,
 * runtime and socket directories, a config with lowered costs, users added
 * through `chatctl useradd --password-stdin`, and the process's CPU time and
 * resident memory read from /proc/PID.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include <gio/gio.h>
#include <json-glib/json-glib.h>

typedef struct {
  const char *chatd;        /* the chatd and chatctl executables */
  const char *chatctl;
  const char *plugin_dir;
  guint       pow_bits;     /* base proof-of-work difficulty */
  guint       kdf_memory_kib;
  guint       kdf_passes;
  const char *user_suite;   /* [server] user-suite of the seeded users; NULL: the default */
} BenchServerConfig;

typedef struct {
  char        *root;        /* temporary directory holding everything below */
  char        *state_dir;
  char        *runtime_dir;
  char        *socket_path;
  char        *log_path;    /* the server's stderr */
  char        *listen;      /* "IP:PORT" from `status` */
  gint         pid;
  GSubprocess *process;
  const BenchServerConfig *config;
} BenchServer;

typedef struct {
  double  cpu_s;            /* utime + stime */
  guint64 rss_kib;          /* VmRSS */
} BenchProcSample;

/* Starts the server, waits until its socket answers and runs `seed`. */
BenchServer *bench_server_start (const BenchServerConfig *config, GError **error);
/* Stops it (shutdown, then SIGKILL after 10 s); FALSE if its log holds a
 * sanitizer report or a critical error. */
gboolean     bench_server_stop  (BenchServer *server, GError **error);
/* Stops it and removes the directories. */
void         bench_server_free  (BenchServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BenchServer, bench_server_free)

/* `chatctl --socket S --json ARGV...` with INPUT on stdin (may be NULL);
 * the parsed output in ret_json (may be NULL). */
gboolean bench_server_ctl (BenchServer *server, const char *const *argv, const char *input,
                           JsonNode **ret_json, GError **error);
/* Adds users PREFIX0000.. with passwords from bench_user_password(), at most
 * `parallel` chatctl processes at a time. */
gboolean bench_server_add_users (BenchServer *server, const char *prefix, guint n, guint parallel,
                                 GError **error);
/* One counter of `chatctl --json stats` (e.g. "login.hellos", found as
 * "server.login.hellos" or "login.hellos"). */
gboolean bench_server_counter (BenchServer *server, const char *name, guint64 *ret_value,
                               GError **error);
/* An integer member of `chatctl --json status` (e.g. "online"). */
gboolean bench_server_status_int (BenchServer *server, const char *member, gint64 *ret_value,
                                  GError **error);

/* A user node of this server, started with --daemon (logged in on return). */
typedef struct {
  char *name;
  char *state_dir;
  char *socket_path;
  gint  pid;
} BenchUser;

/* Starts `chatd --user NAME --connect LISTEN --daemon` with the password in
 * CHATD_PASSWORD, in the server's temporary directory; plugin_path: its
 * CHATD_PLUGIN_PATH (extra plugins), or NULL. */
BenchUser *bench_user_start (BenchServer *server, const char *name, const char *password,
                             const char *plugin_path, GError **error);
/* Shuts it down (it exits on its own; waited for at most 10 s, then
 * killed) and frees it; FALSE if its log holds a sanitizer report or a
 * critical error. */
gboolean   bench_user_stop  (BenchServer *server, BenchUser *user, GError **error);
/* bench_server_ctl for another node's socket */
gboolean   bench_ctl_at     (BenchServer *server, const char *socket_path, const char *const *argv,
                             const char *input, JsonNode **ret_json, GError **error);

/* CPU seconds and VmRSS of a process, from /proc/PID/stat and status. */
gboolean bench_proc_sample (gint pid, BenchProcSample *ret_sample, GError **error);

/* The benchmark's user names and passwords. */
char *bench_user_name     (const char *prefix, guint index);
char *bench_user_password (const char *name);
