/* test-burst.c: a 64 KiB message on an interactive connection leaves in one
 * burst, and its echo is not delayed (virtual clock, deterministic).
 *
 * Pins what doc/transport.md ("Bursts of an idle connection") describes:
 * once the congestion window holds a whole message, a message sent on a
 * connection with nothing in flight goes out at once (no pacing gap), the
 * receiver answers it the instant its last datagram arrives (no ACK or
 * timer in between), so a 64 KiB echo takes exactly one round trip.  Pacing
 * still spreads the datagrams of a connection that has data in flight.
 */
#include "simnet.h"

#include <gcrypt.h>
#include <string.h>

#define MS(x) ((gint64) (x) * 1000)
#define MESSAGE_SIZE (64 * 1024)
#define DELAY_US MS (5)

typedef struct
{
  SimNet *net;
  SimNode *a;
  SimNode *b;
  GBytes *message;
  /* per message: first and last datagram of the request (a -> b) and of
   * the echo (b -> a) above 1000 bytes, when they left */
  GArray *request_first, *request_last, *echo_first, *echo_last;
  GArray *sent_at, *rtt;
  GArray *request_times;  /* every request datagram above 1000 bytes */
  guint target;
  gint64 idle_gap_us;     /* 0: the next message goes when the echo is in */
  gint64 next_send_at;
  gboolean request_open, echo_open;
} Echo;

static void
tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  Echo *e = user_data;
  gint64 now = simnet_now (e->net);

  if (len < 1000)
    return; /* ACK-only and control packets */
  if (from == e->a)
    {
      g_array_append_val (e->request_times, now);
      if (!e->request_open)
        {
          g_array_append_val (e->request_first, now);
          g_array_append_val (e->request_last, now);
          e->request_open = TRUE;
        }
      g_array_index (e->request_last, gint64, e->request_last->len - 1) = now;
    }
  else
    {
      if (!e->echo_open)
        {
          g_array_append_val (e->echo_first, now);
          g_array_append_val (e->echo_last, now);
          e->echo_open = TRUE;
        }
      g_array_index (e->echo_last, gint64, e->echo_last->len - 1) = now;
    }
}

static void
send_next (Echo *e)
{
  gint64 now = simnet_now (e->net);
  g_array_append_val (e->sent_at, now);
  e->request_open = FALSE;
  e->echo_open = FALSE;
  chatd_endpoint_send (e->a->endpoint, now, &e->b->addr, e->message, NULL, NULL);
}

/* b answers every message on its connection, from the callback */
static void
b_on_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
              gpointer user_data)
{
  Echo *e = user_data;
  chatd_connection_send (conn, simnet_now (e->net), message, NULL, NULL);
}

static void
a_on_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
              gpointer user_data)
{
  Echo *e = user_data;
  gint64 now = simnet_now (e->net);
  gint64 rtt = now - g_array_index (e->sent_at, gint64, e->sent_at->len - 1);

  g_assert_cmpuint (g_bytes_get_size (message), ==, MESSAGE_SIZE);
  g_array_append_val (e->rtt, rtt);
  if (e->rtt->len >= e->target)
    return;
  if (e->idle_gap_us == 0)
    send_next (e);
  else
    e->next_send_at = now + e->idle_gap_us;
}

static gboolean
all_answered (gpointer user_data)
{
  Echo *e = user_data;
  return e->rtt->len >= e->target;
}

static void
echo_init (Echo *e, guint target, gint64 idle_gap_us)
{
  g_autofree guint8 *payload = g_malloc (MESSAGE_SIZE);

  memset (e, 0, sizeof *e);
  for (gsize i = 0; i < MESSAGE_SIZE; i++)
    payload[i] = (guint8) (i * 13 + 5);
  e->message = g_bytes_new (payload, MESSAGE_SIZE);
  e->net = simnet_new (1);
  e->a = simnet_add_node (e->net, 1, 1000, NULL);
  e->b = simnet_add_node (e->net, 2, 2000, NULL);
  e->a->uplink.delay_us = DELAY_US;
  e->b->uplink.delay_us = DELAY_US;
  chatd_endpoint_set_message_callback (e->a->endpoint, a_on_message, e);
  chatd_endpoint_set_message_callback (e->b->endpoint, b_on_message, e);
  simnet_set_tap (e->net, tap, e);
  e->request_first = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->request_last = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->echo_first = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->echo_last = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->sent_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->rtt = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->request_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  e->target = target;
  e->idle_gap_us = idle_gap_us;
}

static void
echo_run (Echo *e)
{
  send_next (e);
  while (e->rtt->len < e->target)
    {
      gint64 until = simnet_now (e->net) + MS (10000);
      if (e->next_send_at > 0)
        until = e->next_send_at;
      if (!simnet_run (e->net, until, all_answered, e) && e->next_send_at > 0 &&
          simnet_now (e->net) >= e->next_send_at)
        {
          e->next_send_at = 0;
          send_next (e);
        }
      else
        g_assert_true (e->next_send_at > 0 || e->rtt->len >= e->target);
    }
}

static void
echo_clear (Echo *e)
{
  simnet_free (e->net);
  g_bytes_unref (e->message);
  g_array_unref (e->request_first);
  g_array_unref (e->request_last);
  g_array_unref (e->echo_first);
  g_array_unref (e->echo_last);
  g_array_unref (e->sent_at);
  g_array_unref (e->rtt);
  g_array_unref (e->request_times);
}

static void
check_bursts (Echo *e, guint from)
{
  if (g_test_verbose ())
    for (guint i = 0; i < e->target; i++)
      {
        gint64 sent = g_array_index (e->sent_at, gint64, i);
        g_printerr ("message %u: request %+" G_GINT64_FORMAT "..%+" G_GINT64_FORMAT
                    " us, echo %+" G_GINT64_FORMAT "..%+" G_GINT64_FORMAT " us, rtt %" G_GINT64_FORMAT " us\n",
                    i, g_array_index (e->request_first, gint64, i) - sent,
                    g_array_index (e->request_last, gint64, i) - sent,
                    g_array_index (e->echo_first, gint64, i) - sent,
                    g_array_index (e->echo_last, gint64, i) - sent, g_array_index (e->rtt, gint64, i));
      }
  for (guint i = from; i < e->target; i++)
    {
      gint64 sent = g_array_index (e->sent_at, gint64, i);
      gint64 req_first = g_array_index (e->request_first, gint64, i);
      gint64 req_last = g_array_index (e->request_last, gint64, i);
      gint64 echo_first = g_array_index (e->echo_first, gint64, i);
      gint64 echo_last = g_array_index (e->echo_last, gint64, i);
      /* the whole request leaves when it is sent: no pacing gap */
      g_assert_cmpint (req_first, ==, sent);
      g_assert_cmpint (req_last, ==, sent);
      /* the echo leaves when the request's last datagram arrived */
      g_assert_cmpint (echo_first, ==, sent + DELAY_US);
      g_assert_cmpint (echo_last, ==, sent + DELAY_US);
      /* so the echo takes exactly one round trip */
      g_assert_cmpint (g_array_index (e->rtt, gint64, i), ==, 2 * DELAY_US);
    }
}

/* Messages back to back: each goes when the previous echo is in.  The first
 * ones wait for the congestion window (initial window: 10 packets; a 64 KiB
 * message is 47); from the third on, every message and every echo is one
 * burst, and the echo takes one round trip. */
static void
test_back_to_back (void)
{
  Echo e;
  echo_init (&e, 30, 0);
  echo_run (&e);
  check_bursts (&e, 1);
  echo_clear (&e);
}

/* The same with 200 ms of silence between messages (a chat, not a
 * transfer): the connection is idle each time a message starts. */
static void
test_after_idle (void)
{
  Echo e;
  echo_init (&e, 20, MS (200));
  echo_run (&e);
  check_bursts (&e, 1);
  echo_clear (&e);
}

static gboolean
b_has_three (gpointer user_data)
{
  Echo *e = user_data;
  return e->rtt->len >= e->target;
}

/* Pacing still applies beyond the idle burst: three 64 KiB messages queued
 * at once on an idle connection (141 datagrams, more than the 64 of the
 * idle burst and than the window) leave 64 at once, and the rest spread. */
static void
test_paced_beyond (void)
{
  Echo e;
  echo_init (&e, 2, 0);
  echo_run (&e);
  g_array_set_size (e.request_times, 0);
  simnet_run (e.net, simnet_now (e.net) + MS (200), NULL, NULL);
  g_assert_cmpuint (e.request_times->len, ==, 0);

  gint64 start = simnet_now (e.net);
  e.target = 5;
  e.idle_gap_us = MS (100000); /* no more messages from the echo callback */
  for (guint i = 0; i < 3; i++)
    send_next (&e);
  g_assert_true (simnet_run (e.net, start + MS (1000), b_has_three, &e));
  guint at_once = 0;
  for (guint i = 0; i < e.request_times->len; i++)
    if (g_array_index (e.request_times, gint64, i) == start)
      at_once++;
  if (g_test_verbose ())
    g_printerr ("%u request datagrams, %u at once, the last %+" G_GINT64_FORMAT " us\n", e.request_times->len,
                at_once, g_array_index (e.request_times, gint64, e.request_times->len - 1) - start);
  guint paced = 0;
  for (guint i = 0; i < e.request_times->len; i++)
    {
      gint64 t = g_array_index (e.request_times, gint64, i);
      if (t > start && t < start + 2 * DELAY_US)
        paced++;
      if (g_test_verbose () && t != start)
        g_printerr ("%+" G_GINT64_FORMAT " ", t - start);
    }
  if (g_test_verbose ())
    g_printerr ("\n%u paced within the first round trip\n", paced);
  /* packets carry the end of one message and the start of the next */
  g_assert_cmpuint (e.request_times->len, >=, 3 * 65536 / 1452);
  g_assert_cmpuint (at_once, ==, 64);
  g_assert_cmpuint (paced, >=, 10);
  echo_clear (&e);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/burst/back-to-back", test_back_to_back);
  g_test_add_func ("/transport/burst/after-idle", test_after_idle);
  g_test_add_func ("/transport/burst/paced-beyond", test_paced_beyond);
  return g_test_run ();
}
