/* sim-harness.h: two or more simulated peers with message bookkeeping. */
#pragma once

#include "simnet.h"

typedef struct
{
  SimNet *net;
  SimNode *a;
  SimNode *b;
  GHashTable *expected;   /* GBytes -> count still expected at b */
  guint received;
  guint unexpected;       /* duplicates or corrupt messages */
  guint sends_ok;
  guint sends_failed;
  GError *last_send_error;
  gint64 last_send_failure_at;
  guint established;
  guint closed;
  GError *last_close_error;
  gint64 last_closed_at;
  guint target;           /* for run_until_received */
} Harness;

void     harness_init (Harness *h, guint32 seed, const ChatdEndpointConfig *config);
void     harness_clear (Harness *h);
void     harness_watch (Harness *h, SimNode *node);
GBytes  *harness_message (guint index, gsize size);
void     harness_send (Harness *h, SimNode *from, SimNode *to, GBytes *message);
gboolean harness_all_done (gpointer user_data);
gboolean harness_failed_once (gpointer user_data);
