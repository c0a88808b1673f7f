/* login-swarm.h: many simulated user nodes in one process, each with its
 * own transport (UDP socket) on its own loopback address, logging in to a
 * server with the real login client, a bounded number at a time, and kept
 * online with heartbeats, as daemon/user/user-role.c does for one user.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include "chatd-address.h"

#include <glib.h>

typedef struct {
  ChatdAddress server;
  const char  *prefix;          /* user names: bench_user_name (prefix, i) */
  guint        n_users;
  guint        concurrency;     /* logins in flight at most */
  gint64       login_timeout_us;/* an attempt that takes longer counts as failed */
  gint64       phase_timeout_us;/* bound on a whole login phase */
  gboolean     no_presence;     /* do not tell the server an address: the
                                 * user stays out of the manifests */
} SwarmConfig;

typedef struct {
  guint    attempted, succeeded, failed;
  double   seconds;             /* first hello to last completion */
  double   logins_per_s;        /* succeeded / seconds */
  double   latency_p50_ms, latency_p99_ms;
  guint    bits_min, bits_max;  /* proof-of-work difficulty in the challenges */
  gsize    welcome_max_bytes;   /* largest WELCOME (it carries the manifest) */
  double   client_cpu_s;        /* this process's CPU during the phase */
  GHashTable *failures;         /* reason -> count (GUINT_TO_POINTER) */
} SwarmRun;

typedef struct _Swarm Swarm;

/* Binds one transport per user on 127.1.x.y (each user its own address, as
 * real users have: the server rate-limits blob releases per address). */
Swarm *swarm_new  (const SwarmConfig *config, GError **error);
void   swarm_free (Swarm *swarm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Swarm, swarm_free)

/* Logs in every user not online; returns when all are done or the phase
 * timed out.  free ret_run->failures with g_hash_table_unref. */
void   swarm_login_all (Swarm *swarm, SwarmRun *ret_run);
/* Runs the main loop for @seconds; online users send heartbeats (every
 * CHATD_HEARTBEAT_INTERVAL_S, spread out). */
void   swarm_hold      (Swarm *swarm, double seconds);
/* Sends LOGOUT on every session and waits (bounded) until the server has
 * closed them. */
void   swarm_logout_all (Swarm *swarm);
guint  swarm_n_online  (Swarm *swarm);
/* sessions lost while online (closed by the server or dead) since the start */
guint  swarm_n_dropped (Swarm *swarm);
guint64 swarm_n_heartbeats (Swarm *swarm);
