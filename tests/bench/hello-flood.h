/* hello-flood.h: an unauthenticated HELLO flood against a server: many
 * sockets (source ports), each opening a transport connection, sending a
 * HELLO with a random share and closing the connection as soon as the
 * challenge comes back (or after a timeout), at a bounded total rate.
 * Nothing past the HELLO is ever sent: no proof of work is done.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include "chatd-address.h"

#include <glib.h>

typedef struct {
  ChatdAddress server;
  guint        sockets;        /* source ports */
  double       max_rate;       /* HELLOs per second at most */
  gint64       duration_us;    /* stop after this long at the latest */
} FloodConfig;

typedef struct {
  guint64 hellos_sent;
  guint64 challenges;          /* answered with a CHALLENGE */
  guint64 refusals;            /* answered with FAILED */
  guint64 timeouts;            /* no answer in time, or the connection failed */
  guint   bits_first, bits_max, bits_last;  /* difficulty in the challenges */
  double  seconds;
} FloodResult;

/* Runs the flood on the thread-default main context until @duration_us
 * has passed or @stop_fd (if >= 0) becomes readable or hangs up. */
gboolean hello_flood_run (const FloodConfig *config, int stop_fd, FloodResult *ret_result,
                          GError **error);
