/* test-key-update.c: transport key update (doc/protocol.md, "Transport key
 * update"): two endpoints on the simulated network move a protected
 * connection to new keys with packets in flight, lost and reordered. */
#include "chatd-connection-private.h"
#include "hmac-protector.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

/* genuine B->A packets of key phase 0 that the network lost: replayed
 * later, as packets that were late */
typedef struct
{
  SimNode *from;
  GPtrArray *lost; /* GBytes */
  gboolean capture;
} Capture;

static void
on_fate (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gint64 arrival_us,
         gpointer user_data)
{
  Capture *c = user_data;
  ChatdPacketHeader h;
  if (!c->capture || from != c->from || arrival_us >= 0 ||
      chatd_packet_parse_header (data, len, &h) != CHATD_PACKET_OK ||
      h.type != CHATD_PACKET_DATA || !h.protected_ || h.key_phase != 0)
    return;
  g_ptr_array_add (c->lost, g_bytes_new (data, len));
}

static void
send_both_ways (Harness *h, guint first, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) m = harness_message (first + i, 40 + (i * 397) % 3000);
      harness_send (h, i % 2 ? h->a : h->b, i % 2 ? h->b : h->a, m);
    }
}

typedef struct
{
  ChatdConnection *conn;
  guint64 updates;
} UpdateWait;

static gboolean
updated (gpointer user_data)
{
  UpdateWait *w = user_data;
  return chatd_connection_get_counter (w->conn, "key_updates") >= w->updates;
}

static void
inject (Harness *h, SimNode *to, GBytes *datagram)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (datagram, &len);
  simnet_inject (h->net, &h->b->addr, to, data, len, 1000);
  simnet_run (h->net, simnet_now (h->net) + 20000, NULL, NULL);
}

/* a DATA packet with a PING and a junk tag, of key phase @phase */
static GBytes *
forged (ChatdConnection *to, guint64 pn, guint8 phase)
{
  guint8 buf[64];
  ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .protected_ = TRUE, .key_phase = phase,
                            .dcid = to->local_cid, .pn = pn };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  buf[hl] = CHATD_FRAME_PING;
  memset (buf + hl + 1, 0x5a, 16);
  return g_bytes_new (buf, hl + 1 + 16);
}

static gboolean
was_received (ChatdConnection *conn, GBytes *datagram)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (datagram, &len);
  ChatdPacketHeader h;
  g_assert_cmpint (chatd_packet_parse_header (data, len, &h), ==, CHATD_PACKET_OK);
  return chatd_range_set_contains (&conn->recv_pns, h.pn);
}

static void
test_update_in_flight (void)
{
  Harness h;
  harness_init (&h, 4242, NULL);
  for (SimNode *n = h.a; n != NULL; n = n == h.a ? h.b : NULL)
    {
      n->uplink.delay_us = 20000;
      n->uplink.jitter_us = 5000;
      n->uplink.reorder = 0.2;
      n->uplink.reorder_extra_us = 30000;
    }
  g_autoptr(GBytes) first = harness_message (9999, 10);
  harness_send (&h, h.a, h.b, first);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 10 * G_USEC_PER_SEC, harness_all_done, &h));
  ChatdConnection *ca = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
  ChatdConnection *cb = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  g_assert_nonnull (ca);
  g_assert_nonnull (cb);

  guint freed_a = 0, freed_b = 0;
  g_autoptr(GError) error = NULL;
  /* no key update before a protector is installed */
  ChatdPacketProtector early = hmac_protector_make (TRUE, 1, NULL);
  g_assert_false (chatd_connection_update_protector (ca, simnet_now (h.net), &early, FALSE, &error));
  g_assert_error (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_INVALID);
  g_clear_error (&error);
  early.free_func (early.user_data);

  ChatdPacketProtector pa = hmac_protector_make (TRUE, 0, &freed_a), pb = hmac_protector_make (FALSE, 0, &freed_b);
  g_assert_true (chatd_connection_install_protector (ca, &pa, &error));
  g_assert_true (chatd_connection_install_protector (cb, &pb, &error));
  send_both_ways (&h, 0, 10);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 20 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_true (chatd_connection_is_protected (ca));
  g_assert_true (chatd_connection_is_protected (cb));
  g_assert_cmpuint (chatd_connection_get_key_phase (ca), ==, 0);

  /* a packet of the other phase while no other keys exist: dropped, counted */
  guint64 before = chatd_connection_get_counter (ca, "dropped_key_phase");
  g_autoptr(GBytes) junk = forged (ca, 1000000, 1);
  inject (&h, h.a, junk);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_key_phase"), ==, before + 1);

  /* a forged packet of the current phase that reuses a packet number A
   * already has: refused as unauthentic, not taken for a duplicate (which
   * would make A send an ACK for a packet nobody authenticated) */
  g_assert_true (0 < ca->recv_pn_floor || chatd_range_set_contains (&ca->recv_pns, 0));
  guint64 auth_before = chatd_connection_get_counter (ca, "dropped_auth_failed");
  guint64 dup_before = chatd_connection_get_counter (ca, "dropped_duplicate");
  g_autoptr(GBytes) replayed_pn = forged (ca, 0, 0);
  inject (&h, h.a, replayed_pn);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_auth_failed"), ==, auth_before + 1);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_duplicate"), ==, dup_before);
  /* genuine traffic below must add no unauthentic packet to this one */
  const guint64 forged_auth = auth_before + 1;

  /* update 1, with data in flight both ways and B's packets lost at 30%:
   * A (the initiator) holds the next keys, B (which knows it) switches */
  Capture cap = { h.b, g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), TRUE };
  simnet_set_fate_tap (h.net, on_fate, &cap);
  h.b->uplink.loss = 0.3;
  send_both_ways (&h, 100, 40);
  simnet_run (h.net, simnet_now (h.net) + 15000, NULL, NULL);
  ChatdPacketProtector na = hmac_protector_make (TRUE, 1, &freed_a), nb = hmac_protector_make (FALSE, 1, &freed_b);
  g_assert_true (chatd_connection_update_protector (ca, simnet_now (h.net), &na, FALSE, &error));
  g_assert_cmpuint (chatd_connection_get_key_phase (ca), ==, 0);   /* not before B's packets come */
  g_assert_true (chatd_connection_update_protector (cb, simnet_now (h.net), &nb, TRUE, &error));
  g_assert_cmpuint (chatd_connection_get_key_phase (cb), ==, 1);
  cap.capture = FALSE;   /* from here on B sends in phase 1 */
  send_both_ways (&h, 200, 40);
  UpdateWait wait_a = { ca, 1 };
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 5 * G_USEC_PER_SEC, updated, &wait_a));
  g_assert_cmpuint (chatd_connection_get_key_phase (ca), ==, 1);
  /* a late packet of the old phase opens with the previous keys */
  g_test_message ("%u packets of phase 0 lost", cap.lost->len);
  g_assert_cmpuint (cap.lost->len, >=, 2);
  g_assert_false (was_received (ca, g_ptr_array_index (cap.lost, 0)));
  inject (&h, h.a, g_ptr_array_index (cap.lost, 0));
  g_assert_true (was_received (ca, g_ptr_array_index (cap.lost, 0)));

  /* nothing lost, nothing doubled, no packet failed to open */
  h.b->uplink.loss = 0;
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "key_updates"), ==, 1);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "key_updates"), ==, 1);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_auth_failed") +
                    chatd_connection_get_counter (cb, "dropped_auth_failed"), ==, forged_auth);

  /* after the grace period the old keys are wiped (on the timer, without
   * traffic) and open nothing: the other lost packet is dropped */
  simnet_run (h.net, simnet_now (h.net) + 3 * G_USEC_PER_SEC, NULL, NULL);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "old_keys_wiped"), ==, 1);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "old_keys_wiped"), ==, 1);
  g_assert_cmpuint (freed_a, ==, 1);
  g_assert_cmpuint (freed_b, ==, 1);
  before = chatd_connection_get_counter (ca, "dropped_key_phase");
  inject (&h, h.a, g_ptr_array_index (cap.lost, 1));
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_key_phase"), ==, before + 1);
  g_assert_false (was_received (ca, g_ptr_array_index (cap.lost, 1)));
  /* a forged packet of the stale phase too */
  g_clear_pointer (&junk, g_bytes_unref);
  junk = forged (ca, 2000000, 0);
  inject (&h, h.a, junk);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_key_phase"), ==, before + 2);
  /* nor CRC packets: no downgrade */
  guint8 buf[64];
  ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .dcid = ca->local_cid, .pn = 3000000 };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  buf[hl] = CHATD_FRAME_PING;
  chatd_packet_append_crc (buf, hl + 1);
  before = chatd_connection_get_counter (ca, "dropped_unprotected");
  g_autoptr(GBytes) plain = g_bytes_new (buf, hl + 1 + CHATD_CRC_LEN);
  inject (&h, h.a, plain);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_unprotected"), ==, before + 1);

  /* update 2 the other way round (B holds the next keys, A switches), with
   * reordering: the phase goes back to 0 with generation 2 keys */
  simnet_set_fate_tap (h.net, NULL, NULL);
  send_both_ways (&h, 300, 40);
  simnet_run (h.net, simnet_now (h.net) + 10000, NULL, NULL);
  ChatdPacketProtector na2 = hmac_protector_make (TRUE, 2, &freed_a), nb2 = hmac_protector_make (FALSE, 2, &freed_b);
  g_assert_true (chatd_connection_update_protector (cb, simnet_now (h.net), &nb2, FALSE, &error));
  g_assert_true (chatd_connection_update_protector (ca, simnet_now (h.net), &na2, TRUE, &error));
  send_both_ways (&h, 400, 40);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "key_updates"), ==, 2);
  g_assert_cmpuint (chatd_connection_get_counter (cb, "key_updates"), ==, 2);
  g_assert_cmpuint (chatd_connection_get_key_phase (ca), ==, 0);
  g_assert_cmpuint (chatd_connection_get_key_phase (cb), ==, 0);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_auth_failed") +
                    chatd_connection_get_counter (cb, "dropped_auth_failed"), ==, forged_auth);
  /* a genuine generation-0 packet (phase 0 again) does not open with the
   * generation-2 keys: never back to old keys */
  before = chatd_connection_get_counter (ca, "dropped_auth_failed");
  g_assert_false (was_received (ca, g_ptr_array_index (cap.lost, cap.lost->len - 1)));
  inject (&h, h.a, g_ptr_array_index (cap.lost, cap.lost->len - 1));
  g_assert_false (was_received (ca, g_ptr_array_index (cap.lost, cap.lost->len - 1)));
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_auth_failed"), ==, before + 1);
  simnet_run (h.net, simnet_now (h.net) + 3 * G_USEC_PER_SEC, NULL, NULL);
  g_assert_cmpuint (freed_a, ==, 2);
  g_assert_cmpuint (freed_b, ==, 2);
  g_ptr_array_unref (cap.lost);
  harness_clear (&h);
  /* the connection's current keys go with it */
  g_assert_cmpuint (freed_a, ==, 3);
  g_assert_cmpuint (freed_b, ==, 3);
}

/* Next keys given twice before the peer used them: the first are wiped, the
 * second are used; a switch before the connection is protected both ways is
 * refused. */
static void
test_replaced_next_keys (void)
{
  Harness h;
  harness_init (&h, 77, NULL);
  g_autoptr(GBytes) first = harness_message (1, 10);
  harness_send (&h, h.a, h.b, first);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 10 * G_USEC_PER_SEC, harness_all_done, &h));
  ChatdConnection *ca = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
  ChatdConnection *cb = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  guint freed = 0;
  g_autoptr(GError) error = NULL;
  ChatdPacketProtector pa = hmac_protector_make (TRUE, 0, &freed), pb = hmac_protector_make (FALSE, 0, &freed);
  g_assert_true (chatd_connection_install_protector (ca, &pa, &error));
  g_assert_true (chatd_connection_install_protector (cb, &pb, &error));
  ChatdPacketProtector too_early = hmac_protector_make (FALSE, 1, &freed);
  g_assert_false (chatd_connection_update_protector (cb, simnet_now (h.net), &too_early, TRUE, &error));
  g_clear_error (&error);
  too_early.free_func (too_early.user_data);
  g_assert_cmpuint (freed, ==, 1);
  send_both_ways (&h, 10, 6);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 20 * G_USEC_PER_SEC, harness_all_done, &h));

  ChatdPacketProtector n1 = hmac_protector_make (TRUE, 1, &freed), n2 = hmac_protector_make (TRUE, 2, &freed);
  g_assert_true (chatd_connection_update_protector (ca, simnet_now (h.net), &n1, FALSE, &error));
  g_assert_true (chatd_connection_update_protector (ca, simnet_now (h.net), &n2, FALSE, &error));
  g_assert_cmpuint (freed, ==, 2);   /* n1 wiped unused */
  ChatdPacketProtector m2 = hmac_protector_make (FALSE, 2, &freed);
  g_assert_true (chatd_connection_update_protector (cb, simnet_now (h.net), &m2, TRUE, &error));
  send_both_ways (&h, 20, 6);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 20 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "key_updates"), ==, 1);
  g_assert_cmpuint (chatd_connection_get_key_phase (ca), ==, 1);
  g_assert_cmpuint (chatd_connection_get_counter (ca, "dropped_auth_failed"), ==, 0);
  harness_clear (&h);
}

/* the key phase bit: written and read back, authenticated as part of the
 * header, and refused on a packet that is not protected */
static void
test_header (void)
{
  guint8 buf[64];
  ChatdPacketHeader out, hdr = { .type = CHATD_PACKET_DATA, .protected_ = TRUE, .key_phase = 1,
                                 .dcid = 7, .pn = 9 };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  g_assert_cmpuint (hl, ==, CHATD_PACKET_HEADER_LEN);
  g_assert_cmphex (buf[1], ==, CHATD_PACKET_DATA | CHATD_PACKET_FLAG_PROTECTED | CHATD_PACKET_FLAG_KEY_PHASE);
  memset (buf + hl, 0, 20);
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 20, &out), ==, CHATD_PACKET_OK);
  g_assert_true (out.protected_);
  g_assert_cmpuint (out.key_phase, ==, 1);
  hdr.key_phase = 0;
  chatd_packet_write_header (buf, sizeof buf, &hdr);
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 20, &out), ==, CHATD_PACKET_OK);
  g_assert_cmpuint (out.key_phase, ==, 0);
  /* a phase without protection, and the reserved bits, are refused */
  buf[1] = CHATD_PACKET_DATA | CHATD_PACKET_FLAG_KEY_PHASE;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 20, &out), ==, CHATD_PACKET_BAD_TYPE);
  buf[1] = CHATD_PACKET_DATA | CHATD_PACKET_FLAG_PROTECTED | 0x20;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 20, &out), ==, CHATD_PACKET_BAD_TYPE);
  buf[1] = CHATD_PACKET_DATA | CHATD_PACKET_FLAG_PROTECTED | 0x10;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 20, &out), ==, CHATD_PACKET_BAD_TYPE);
  /* not written on an unprotected packet */
  hdr.protected_ = FALSE;
  hdr.key_phase = 1;
  chatd_packet_write_header (buf, sizeof buf, &hdr);
  g_assert_cmphex (buf[1], ==, CHATD_PACKET_DATA);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/key-update/header", test_header);
  g_test_add_func ("/transport/key-update/in-flight", test_update_in_flight);
  g_test_add_func ("/transport/key-update/replaced-next-keys", test_replaced_next_keys);
  return g_test_run ();
}
