/* gen-fuzz-corpus.c: writes seed corpora for tests/fuzz from real packets
 * captured on the simulated network.  Run by hand (not a test):
 *   build/tests/transport/gen-fuzz-corpus tests/fuzz/corpus */
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

typedef struct
{
  const char *dir;
  guint n_packet;
  guint n_frames;
  guint8 seen_types[4];
} Gen;

static void
tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  Gen *g = user_data;
  ChatdPacketHeader h;
  if (chatd_packet_parse_header (data, len, &h) != CHATD_PACKET_OK)
    return;
  /* a few of each packet type, and DATA packets of several shapes */
  guint limit = h.type == CHATD_PACKET_DATA ? 12 : 1;
  if (g->seen_types[h.type & 3] >= limit)
    return;
  if (h.type == CHATD_PACKET_DATA && len < 200 && g->seen_types[3] % 2 == 1)
    return;
  g->seen_types[h.type & 3]++;
  g_autofree char *p = g_strdup_printf ("%s/packet/seed-%02u", g->dir, g->n_packet++);
  g_file_set_contents (p, (const char *) data, len, NULL);
  if (h.type == CHATD_PACKET_DATA)
    {
      g_autofree char *q = g_strdup_printf ("%s/connection/frames-%02u", g->dir, g->n_frames++);
      g_file_set_contents (q, (const char *) data + h.header_len, len - h.header_len - CHATD_CRC_LEN, NULL);
    }
}

int
main (int argc, char **argv)
{
  Harness h;
  Gen g = { argc > 1 ? argv[1] : "tests/fuzz/corpus" };
  gcry_check_version (NULL);
  harness_init (&h, 3, NULL);
  h.a->uplink.loss = 0.1;
  simnet_set_tap (h.net, tap, &g);
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, i * i * 50);
      harness_send (&h, i % 3 ? h.a : h.b, i % 3 ? h.b : h.a, m);
    }
  simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, harness_all_done, &h);
  ChatdConnection *c = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
  if (c)
    chatd_connection_close (c, simnet_now (h.net), 3, "corpus done");
  simnet_run (h.net, simnet_now (h.net) + G_USEC_PER_SEC, NULL, NULL);
  harness_clear (&h);
  g_print ("%u packet seeds, %u frame seeds\n", g.n_packet, g.n_frames);
  return 0;
}
