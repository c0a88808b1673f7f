/* test-socket.c: the transport on real UDP sockets on the loopback. */
#include "sim-harness.h"
#include "transfer.h"

#include <gcrypt.h>

static GBytes *
make_message (guint index, gsize size)
{
  return harness_message (index, size);
}

static void
assert_all_delivered (const TransferResult *r, guint n)
{
  if (r->first_error)
    g_test_message ("error: %s", r->first_error->message);
  g_assert_false (r->timed_out);
  g_assert_no_error (r->first_error);
  g_assert_cmpuint (r->unexpected, ==, 0);
  g_assert_cmpuint (r->delivered, ==, n);
  g_assert_cmpuint (r->acknowledged, ==, n);
}

static void
test_ipv4 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdTransport) b = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (chatd_transport_get_port (a), !=, 0);
  g_assert_cmpuint (chatd_transport_get_port (a), !=, chatd_transport_get_port (b));
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < 200; i++)
    g_ptr_array_add (msgs, make_message (i, i == 0 ? 0 : (gsize) (i * i * 13)));
  TransferResult r;
  transfer_run (a, b, chatd_transport_get_local_address (b), msgs, 30, &r);
  assert_all_delivered (&r, msgs->len);
  transfer_result_clear (&r);
  /* and back, on the same connection */
  transfer_run (b, a, chatd_transport_get_local_address (a), msgs, 30, &r);
  assert_all_delivered (&r, msgs->len);
  transfer_result_clear (&r);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (chatd_transport_get_endpoint (a)), ==, 1);
}

static void
test_64mib (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdTransport) b = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (msgs, make_message (1, 64 * 1024 * 1024));
  TransferResult r;
  transfer_run (a, b, chatd_transport_get_local_address (b), msgs, 60, &r);
  assert_all_delivered (&r, 1);
  g_test_message ("64 MiB in %.3f s (%.0f MiB/s)", r.seconds, 64 / r.seconds);
  transfer_result_clear (&r);
}

static void
test_ipv6 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("::1", 0, NULL, NULL, &error);
  if (a == NULL)
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  g_autoptr(ChatdTransport) b = chatd_transport_new ("::1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < 20; i++)
    g_ptr_array_add (msgs, make_message (i, i * 5000));
  TransferResult r;
  transfer_run (a, b, chatd_transport_get_local_address (b), msgs, 30, &r);
  assert_all_delivered (&r, msgs->len);
  transfer_result_clear (&r);
  g_autofree char *s = chatd_address_to_string (chatd_transport_get_local_address (b));
  g_assert_true (g_str_has_prefix (s, "[::1]:"));
}

/* The receiver's process goes away; the send fails within the bound; a new
 * receiver on the same port gets the next message. */
static void
test_restart (void)
{
  g_autoptr(GError) error = NULL;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.dead_peer_timeout_us = 1 * G_USEC_PER_SEC;
  config.handshake_timeout_us = 1 * G_USEC_PER_SEC;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, &config, NULL, &error);
  g_assert_no_error (error);
  ChatdTransport *b = chatd_transport_new ("127.0.0.1", 0, &config, NULL, &error);
  g_assert_no_error (error);
  ChatdAddress b_addr = *chatd_transport_get_local_address (b);
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (msgs, make_message (1, 3000));
  TransferResult r;
  transfer_run (a, b, &b_addr, msgs, 10, &r);
  assert_all_delivered (&r, 1);
  transfer_result_clear (&r);

  chatd_transport_free (b);
  g_autoptr(ChatdTransport) other = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  transfer_run (a, other, &b_addr, msgs, 10, &r);
  g_assert_false (r.timed_out);
  g_assert_cmpuint (r.failed, ==, 1);
  g_assert_nonnull (r.first_error);
  g_assert_true (r.first_error->domain == CHATD_TRANSPORT_ERROR);
  g_assert_cmpfloat (r.seconds, <, 5.0);
  transfer_result_clear (&r);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (chatd_transport_get_endpoint (a)), ==, 0);

  b = chatd_transport_new ("127.0.0.1", chatd_address_get_port (&b_addr), &config, NULL, &error);
  g_assert_no_error (error);
  transfer_run (a, b, &b_addr, msgs, 10, &r);
  assert_all_delivered (&r, 1);
  transfer_result_clear (&r);
  chatd_transport_free (b);
}

/* A dual-stack "::" transport talks to an IPv4 one given as 127.0.0.1. */
static void
test_dual_stack (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("::", 0, NULL, NULL, &error);
  if (a == NULL)
    {
      g_test_skip ("no IPv6 here");
      return;
    }
  g_autoptr(ChatdTransport) b = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (msgs, make_message (i, i * 999));
  TransferResult r;
  transfer_run (a, b, chatd_transport_get_local_address (b), msgs, 30, &r);
  assert_all_delivered (&r, msgs->len);
  transfer_result_clear (&r);
  g_assert_nonnull (chatd_endpoint_lookup (chatd_transport_get_endpoint (a), chatd_transport_get_local_address (b)));
  /* and back: b sees a as 127.0.0.1:port */
  ChatdAddress a4;
  g_assert_true (chatd_address_parse ("127.0.0.1", chatd_transport_get_port (a), &a4, NULL));
  transfer_run (b, a, &a4, msgs, 30, &r);
  assert_all_delivered (&r, msgs->len);
  transfer_result_clear (&r);
}

static void
test_address_strings (void)
{
  ChatdAddress addr;
  g_autoptr(GError) error = NULL;
  const char *good[] = { "127.0.0.1:4000", "[::1]:1", "10.1.2.3:65535", "[fe80::1]:80" };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_assert_true (chatd_address_parse_string (good[i], &addr, &error));
      g_assert_no_error (error);
      g_autofree char *back = chatd_address_to_string (&addr);
      g_assert_cmpstr (back, ==, good[i]);
    }
  const char *bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:4", "[::1]4",
                        "host:80", "1.2.3.4:-1", "[::1]:x" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (chatd_address_parse_string (bad[i], &addr, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
}

static void
count_cb (const char *name, guint64 value, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_counters (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  guint n = 0;
  chatd_transport_foreach_counter (a, count_cb, &n);
  g_assert_cmpuint (n, >, 30);
}

typedef struct {
  guint packets_sent;
} PacketCount;

static void
packets_cb (const char *name, guint64 value, gpointer user_data)
{
  if (strcmp (name, "conn.packets_sent") == 0)
    ((PacketCount *) user_data)->packets_sent = (guint) value;
}

static guint
packets_sent (ChatdTransport *t)
{
  PacketCount count = { 0 };
  chatd_transport_foreach_counter (t, packets_cb, &count);
  return count.packets_sent;
}

static void
on_small_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  g_assert_no_error (error);
  (*(guint *) user_data)++;
}

/* Small messages queued one call at a time go out as they come (about a
 * packet each); between hold and release nothing leaves, then they leave
 * together in a few full packets, and all arrive. */
static void
test_hold (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdTransport) b = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) first = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (first, make_message (0, 100));
  TransferResult r;
  transfer_run (a, b, chatd_transport_get_local_address (b), first, 30, &r);   /* the connection */
  assert_all_delivered (&r, 1);
  transfer_result_clear (&r);
  ChatdConnection *conn = chatd_endpoint_lookup (chatd_transport_get_endpoint (a), chatd_transport_get_local_address (b));
  g_assert_nonnull (conn);
  enum { N = 40 };
  guint acked = 0;
  for (int held = 0; held <= 1; held++)
    {
      guint before = packets_sent (a);
      if (held)
        chatd_transport_hold (a);
      for (guint i = 0; i < N; i++)
        {
          g_autoptr(GBytes) m = make_message (i, 100);
          chatd_transport_send_on (a, conn, m, on_small_sent, &acked);
        }
      guint during = packets_sent (a) - before;
      if (held)
        {
          g_assert_cmpuint (during, ==, 0);
          chatd_transport_release (a);
          guint after = packets_sent (a) - before;
          g_test_message ("%d messages held: %u packets", N, after);
          g_assert_cmpuint (after, >, 0);
          g_assert_cmpuint (after, <=, N / 4);
        }
      else
        g_test_message ("%d messages not held: %u packets", N, during);   /* as pacing allows */
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
      while (acked < (guint) (held + 1) * N && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (acked, ==, (guint) (held + 1) * N);
    }
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/socket/ipv4", test_ipv4);
  g_test_add_func ("/transport/socket/64mib", test_64mib);
  g_test_add_func ("/transport/socket/ipv6", test_ipv6);
  g_test_add_func ("/transport/socket/restart", test_restart);
  g_test_add_func ("/transport/socket/counters", test_counters);
  g_test_add_func ("/transport/socket/hold", test_hold);
  g_test_add_func ("/transport/socket/dual-stack", test_dual_stack);
  g_test_add_func ("/transport/address/strings", test_address_strings);
  return g_test_run ();
}
