/* transfer.c: message transfers between two real transports (test code). */
#include "transfer.h"

#include <string.h>

typedef struct
{
  GMainLoop *loop;
  GHashTable *expected; /* GBytes -> remaining count */
  guint target;
  TransferResult *result;
} Transfer;

static void
maybe_quit (Transfer *x)
{
  TransferResult *r = x->result;
  if ((r->delivered >= x->target && r->acknowledged + r->failed >= x->target) || r->failed > 0)
    g_main_loop_quit (x->loop);
}

static void
on_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
            gpointer user_data)
{
  Transfer *x = user_data;
  gpointer count;
  if (!g_hash_table_lookup_extended (x->expected, message, NULL, &count) || GPOINTER_TO_UINT (count) == 0)
    x->result->unexpected++;
  else
    {
      g_hash_table_insert (x->expected, g_bytes_ref (message), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) - 1));
      x->result->delivered++;
    }
  maybe_quit (x);
}

static void
on_sent (ChatdEndpoint *ep, ChatdConnection *conn, const GError *error, gpointer user_data)
{
  Transfer *x = user_data;
  if (error)
    {
      x->result->failed++;
      if (x->result->first_error == NULL)
        x->result->first_error = g_error_copy (error);
    }
  else
    x->result->acknowledged++;
  maybe_quit (x);
}

static gboolean
on_timeout (gpointer user_data)
{
  Transfer *x = user_data;
  x->result->timed_out = TRUE;
  g_main_loop_quit (x->loop);
  return G_SOURCE_REMOVE;
}

void
transfer_run (ChatdTransport *sender, ChatdTransport *receiver, const ChatdAddress *dest,
              GPtrArray *messages, guint timeout_s, TransferResult *ret_result)
{
  Transfer x = { 0 };
  memset (ret_result, 0, sizeof *ret_result);
  x.loop = g_main_loop_new (NULL, FALSE);
  x.expected = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  x.result = ret_result;
  x.target = messages->len;
  chatd_transport_set_message_callback (receiver, on_message, &x);
  g_autofree ChatdSendRequest *reqs = g_new0 (ChatdSendRequest, messages->len);
  for (guint i = 0; i < messages->len; i++)
    {
      GBytes *m = messages->pdata[i];
      gpointer count = NULL;
      g_hash_table_lookup_extended (x.expected, m, NULL, &count);
      g_hash_table_insert (x.expected, g_bytes_ref (m), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
      reqs[i] = (ChatdSendRequest) { dest, m, on_sent, &x };
    }
  guint timer = g_timeout_add_seconds (timeout_s, on_timeout, &x);
  gint64 t0 = g_get_monotonic_time ();
  chatd_transport_send_many (sender, reqs, messages->len);
  if (x.target > 0)
    g_main_loop_run (x.loop);
  ret_result->seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (!ret_result->timed_out)
    g_source_remove (timer);
  chatd_transport_set_message_callback (receiver, NULL, NULL);
  g_hash_table_unref (x.expected);
  g_main_loop_unref (x.loop);
}

void
transfer_result_clear (TransferResult *result)
{
  g_clear_error (&result->first_error);
}
