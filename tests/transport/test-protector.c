/* test-protector.c: the packet-protection hook with a test protector
 * (HMAC-SHA256 tags, a toy XOR "cipher" to show in-place transformation). */
#include "chatd-connection-private.h"
#include "hmac-protector.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

static void
install (ChatdConnection *conn, gboolean client_side)
{
  hmac_protector_install (conn, client_side);
  g_assert_true (conn->have_protector);
  /* a second installation is refused */
  ChatdPacketProtector p = conn->protector;
  g_autoptr(GError) error = NULL;
  g_assert_false (chatd_connection_install_protector (conn, &p, &error));
  g_assert_error (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_INVALID);
}

static guint protected_events;

static void
on_event (ChatdEndpoint *ep, ChatdConnection *conn, ChatdConnectionEvent event, const GError *error,
          gpointer user_data)
{
  if (event == CHATD_CONNECTION_EVENT_PROTECTED)
    protected_events++;
}

static void
send_batch (Harness *h, guint first, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) m = harness_message (first + i, 50 + i * 2000);
      harness_send (h, i % 2 ? h->a : h->b, i % 2 ? h->b : h->a, m);
    }
}

static void
test_switch (void)
{
  Harness h;
  harness_init (&h, 201, NULL);
  h.a->uplink.loss = 0.05;
  h.b->uplink.loss = 0.05;
  g_autoptr(GBytes) first = harness_message (9999, 10);
  harness_send (&h, h.a, h.b, first); /* one connection, opened by A */
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 10 * G_USEC_PER_SEC, harness_all_done, &h));
  ChatdConnection *ca = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
  ChatdConnection *cb = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  g_assert_nonnull (ca);
  g_assert_nonnull (cb);
  g_assert_true (chatd_connection_is_client (ca));

  /* A installs first; traffic continues; B installs 300 ms later */
  protected_events = 0;
  chatd_endpoint_set_connection_callback (h.a->endpoint, on_event, NULL);
  chatd_endpoint_set_connection_callback (h.b->endpoint, on_event, NULL);
  install (ca, TRUE);
  send_batch (&h, 100, 10);
  simnet_run (h.net, simnet_now (h.net) + 300000, NULL, NULL);
  g_assert_false (chatd_connection_is_protected (ca));
  install (cb, FALSE);
  send_batch (&h, 200, 10);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 20 * G_USEC_PER_SEC, harness_all_done, &h));
  simnet_run (h.net, simnet_now (h.net) + G_USEC_PER_SEC, NULL, NULL);
  g_assert_true (chatd_connection_is_protected (ca));
  g_assert_true (chatd_connection_is_protected (cb));
  g_assert_cmpuint (protected_events, ==, 2);
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);

  /* tampering: 10% of datagrams get a flipped bit; all of those are dropped */
  h.a->uplink.corrupt = 0.1;
  h.b->uplink.corrupt = 0.1;
  send_batch (&h, 300, 20);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "dropped_auth_failed") +
                    chatd_connection_get_counter (ca, "dropped_auth_failed"), >, 0);

  /* a plain packet with a valid checksum is no longer accepted */
  guint8 buf[256];
  ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .dcid = cb->local_cid, .pn = 5000000 };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  buf[hl] = CHATD_FRAME_PING;
  chatd_packet_append_crc (buf, hl + 1);
  guint64 before = chatd_connection_get_counter (cb, "dropped_unprotected");
  simnet_inject (h.net, &h.a->addr, h.b, buf, hl + 1 + CHATD_CRC_LEN, 10);
  simnet_run (h.net, simnet_now (h.net) + 100000, NULL, NULL);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "dropped_unprotected"), ==, before + 1);
  /* nor a protected one with a forged tag */
  hdr.protected_ = TRUE;
  hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  buf[hl] = CHATD_FRAME_PING;
  memset (buf + hl + 1, 0x5a, 16);
  before = chatd_connection_get_counter (cb, "dropped_auth_failed");
  simnet_inject (h.net, &h.a->addr, h.b, buf, hl + 1 + 16, 10);
  simnet_run (h.net, simnet_now (h.net) + 100000, NULL, NULL);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "dropped_auth_failed"), ==, before + 1);
  harness_clear (&h);
}

/* Keys agreed over the transport itself: B installs when it receives A's
 * "key" message, A when it receives B's answer; with loss, retransmissions
 * cross the switch-over without deadlock. */
typedef struct
{
  Harness *h;
  gboolean a_done, b_done;
} InBand;

static void
inband_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
                gpointer user_data)
{
  InBand *x = user_data;
  gsize len;
  const char *d = g_bytes_get_data (message, &len);
  if (len == 5 && memcmp (d, "key-a", 5) == 0 && !x->b_done)
    {
      install (conn, FALSE);
      x->b_done = TRUE;
      g_autoptr(GBytes) reply = g_bytes_new_static ("key-b", 5);
      chatd_connection_send (conn, simnet_now (x->h->net), reply, NULL, NULL);
    }
  else if (len == 5 && memcmp (d, "key-b", 5) == 0 && !x->a_done)
    {
      install (conn, TRUE);
      x->a_done = TRUE;
    }
}

static gboolean
both_protected (gpointer user_data)
{
  InBand *x = user_data;
  ChatdConnection *ca = chatd_endpoint_lookup (x->h->a->endpoint, &x->h->b->addr);
  ChatdConnection *cb = chatd_endpoint_lookup (x->h->b->endpoint, &x->h->a->addr);
  return ca && cb && chatd_connection_is_protected (ca) && chatd_connection_is_protected (cb);
}

static void
test_in_band (void)
{
  for (guint32 seed = 0; seed < 10; seed++)
    {
      Harness h;
      InBand x = { &h, FALSE, FALSE };
      harness_init (&h, 300 + seed, NULL);
      h.a->uplink.loss = 0.2;
      h.b->uplink.loss = 0.2;
      chatd_endpoint_set_message_callback (h.a->endpoint, inband_message, &x);
      chatd_endpoint_set_message_callback (h.b->endpoint, inband_message, &x);
      g_autoptr(GBytes) key = g_bytes_new_static ("key-a", 5);
      chatd_endpoint_send (h.a->endpoint, simnet_now (h.net), &h.b->addr, key, NULL, NULL);
      g_assert_true (simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, both_protected, &x));
      /* and data flows afterwards */
      harness_watch (&h, h.a);
      harness_watch (&h, h.b);
      send_batch (&h, 0, 6);
      g_assert_true (simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, harness_all_done, &h));
      g_assert_cmpuint (h.sends_failed, ==, 0);
      g_assert_cmpuint (h.unexpected, ==, 0);
      harness_clear (&h);
    }
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/protector/switch", test_switch);
  g_test_add_func ("/transport/protector/in-band", test_in_band);
  return g_test_run ();
}
