/* netsim-options.h: the relay's command line.
 *
 * Every impairment option exists three times: --NAME applies to both
 * directions, --NAME-up only to client -> upstream, --NAME-down only to
 * upstream -> client.
 */
#pragma once

#include <gio/gio.h>
#include "netsim-impair.h"

G_BEGIN_DECLS

typedef enum {
  NETSIM_UP = 0,     /* client -> upstream */
  NETSIM_DOWN = 1,   /* upstream -> client */
} NetsimDirectionId;

typedef struct {
  GInetSocketAddress *listen;
  GInetSocketAddress *upstream;
  guint64 seed;
  double duration_s;
  guint max_clients;
  NetsimImpairment impairment[2];
} NetsimOptions;

void netsim_options_init (NetsimOptions *options);
void netsim_options_clear (NetsimOptions *options);

/* Parses argv (modified in place).  On error the message is one line. */
gboolean netsim_options_parse (NetsimOptions *options, int *argc, char ***argv, GError **error);

/* "127.0.0.1:5000", "[::1]:5000", ":0" (127.0.0.1); numeric addresses only. */
GInetSocketAddress *netsim_parse_address (const char *text, GError **error);

G_END_DECLS
