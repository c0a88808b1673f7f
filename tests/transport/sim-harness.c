/* sim-harness.c: bookkeeping of messages sent and received in simnet tests. */
#include "sim-harness.h"
#include "debug-dump.h"

#include <string.h>

static void
on_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
            gpointer user_data)
{
  Harness *h = user_data;
  gpointer count;
  if (!g_hash_table_lookup_extended (h->expected, message, NULL, &count) ||
      GPOINTER_TO_UINT (count) == 0)
    {
      h->unexpected++;
      return;
    }
  g_hash_table_insert (h->expected, g_bytes_ref (message), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) - 1));
  h->received++;
}

static void
on_event (ChatdEndpoint *ep, ChatdConnection *conn, ChatdConnectionEvent event, const GError *error,
          gpointer user_data)
{
  Harness *h = user_data;
  if (event == CHATD_CONNECTION_EVENT_ESTABLISHED)
    h->established++;
  else if (event == CHATD_CONNECTION_EVENT_CLOSED)
    {
      h->closed++;
      g_clear_error (&h->last_close_error);
      h->last_close_error = error ? g_error_copy (error) : NULL;
      h->last_closed_at = simnet_now (h->net);
    }
}

static void
on_sent (ChatdEndpoint *ep, ChatdConnection *conn, const GError *error, gpointer user_data)
{
  Harness *h = user_data;
  if (error)
    {
      h->sends_failed++;
      if (g_getenv ("SIM_DEBUG"))
        {
          g_printerr ("%.4f send failed: %s\n", (simnet_now (h->net) - 1000000) / 1e6, error->message);
          if (conn && h->sends_failed == 1)
            debug_dump_conn (conn, NULL);
        }
      g_clear_error (&h->last_send_error);
      h->last_send_error = g_error_copy (error);
      h->last_send_failure_at = simnet_now (h->net);
    }
  else
    h->sends_ok++;
}

void
harness_watch (Harness *h, SimNode *node)
{
  chatd_endpoint_set_message_callback (node->endpoint, on_message, h);
  chatd_endpoint_set_connection_callback (node->endpoint, on_event, h);
}

void
harness_init (Harness *h, guint32 seed, const ChatdEndpointConfig *config)
{
  memset (h, 0, sizeof *h);
  h->net = simnet_new (seed);
  h->a = simnet_add_node (h->net, 1, 1000, config);
  h->b = simnet_add_node (h->net, 2, 2000, config);
  h->expected = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  harness_watch (h, h->a);
  harness_watch (h, h->b);
}

void
harness_clear (Harness *h)
{
  simnet_free (h->net);
  g_hash_table_unref (h->expected);
  g_clear_error (&h->last_send_error);
  g_clear_error (&h->last_close_error);
}

GBytes *
harness_message (guint index, gsize size)
{
  guint8 *data = g_malloc (size ? size : 1);
  guint32 x = index * 2654435761u + 12345u;
  for (gsize i = 0; i < size; i++)
    {
      x = x * 1103515245u + 12345u;
      data[i] = (guint8) (x >> 16);
    }
  if (size >= 4)
    memcpy (data, &index, 4);
  return g_bytes_new_take (data, size);
}

void
harness_send (Harness *h, SimNode *from, SimNode *to, GBytes *message)
{
  gpointer count = NULL;
  g_hash_table_lookup_extended (h->expected, message, NULL, &count);
  g_hash_table_insert (h->expected, g_bytes_ref (message), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
  h->target++;
  chatd_endpoint_send (from->endpoint, simnet_now (h->net), &to->addr, message, on_sent, h);
}

gboolean
harness_all_done (gpointer user_data)
{
  Harness *h = user_data;
  return h->received + h->unexpected >= h->target && h->sends_ok + h->sends_failed >= h->target;
}

gboolean
harness_failed_once (gpointer user_data)
{
  Harness *h = user_data;
  return h->sends_failed > 0;
}
