/* fuzz-connection.c: arbitrary frames (with a valid checksum) and arbitrary
 * datagrams delivered to a live connection of the sans-IO core. */
#include "chatd-connection-private.h"
#include "chatd-endpoint.h"
#include "fuzz-shuttle.h"

#include <gcrypt.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialised;
  ChatdAddress aa, ba;
  gint64 now = 1000000;
  if (!initialised)
    {
      gcry_check_version (NULL);
      gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
      initialised = TRUE;
    }
  if (size > 1400)
    size = 1400;
  chatd_address_parse ("10.0.0.1", 1, &aa, NULL);
  chatd_address_parse ("10.0.0.2", 2, &ba, NULL);
  ChatdEndpoint *a = chatd_endpoint_new (NULL, &aa);
  ChatdEndpoint *b = chatd_endpoint_new (NULL, &ba);
  GBytes *m = g_bytes_new_static ("hello", 5);
  chatd_endpoint_send (a, now, &ba, m, NULL, NULL);
  fuzz_shuttle (a, &aa, b, &ba, &now, 4);
  ChatdConnection *conn = chatd_endpoint_lookup (b, &aa);
  g_assert (conn != NULL);

  /* the input as the frames of a packet with a valid id and checksum */
  guint8 buf[1500];
  ChatdPacketHeader h = { .type = CHATD_PACKET_DATA, .dcid = conn->local_cid, .pn = 100 };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &h);
  memcpy (buf + hl, data, size);
  chatd_packet_append_crc (buf, hl + size);
  chatd_endpoint_handle_datagram (b, now, &aa, buf, hl + size + CHATD_CRC_LEN);
  /* and as a raw datagram */
  memcpy (buf, data, size);
  chatd_endpoint_handle_datagram (b, now, &aa, buf, size);
  fuzz_shuttle (a, &aa, b, &ba, &now, 4);
  chatd_endpoint_send (a, now, &ba, m, NULL, NULL);
  fuzz_shuttle (a, &aa, b, &ba, &now, 4);
  g_bytes_unref (m);
  chatd_endpoint_free (a);
  chatd_endpoint_free (b);
  return 0;
}
