/* fuzz-packet.c: the transport's packet header and frame parsers. */
#include "chatd-frame.h"
#include "chatd-packet.h"

#include <gcrypt.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
parse_frames (const guint8 *p, gsize len)
{
  ChatdReader r;
  ChatdFrame f;
  chatd_reader_init (&r, p, len);
  while (chatd_reader_remaining (&r) > 0 && chatd_frame_parse (&r, &f))
    {
      if (f.type == CHATD_FRAME_ACK)
        {
          ChatdAckIter it;
          guint64 lo, hi, prev_lo = G_MAXUINT64;
          chatd_ack_iter_init (&it, &f);
          while (chatd_ack_iter_next (&it, &lo, &hi))
            {
              g_assert (lo <= hi);
              g_assert (prev_lo == G_MAXUINT64 || hi < prev_lo);
              prev_lo = lo;
            }
        }
      else if (f.type == CHATD_FRAME_STREAM)
        g_assert (f.u.stream.data >= p && f.u.stream.data + f.u.stream.len <= p + len);
      else if (f.type == CHATD_FRAME_CLOSE)
        g_assert (f.u.close.reason_len <= CHATD_CLOSE_MAX_REASON);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialised;
  ChatdPacketHeader h;
  if (!initialised)
    {
      gcry_check_version (NULL);
      gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
      initialised = TRUE;
    }
  if (chatd_packet_parse_header (data, size, &h) == CHATD_PACKET_OK)
    {
      g_assert (h.header_len + CHATD_CRC_LEN <= size);
      g_assert (h.token_len <= CHATD_MAX_TOKEN_LEN);
      g_assert (h.key_phase <= 1 && (h.key_phase == 0 || (h.protected_ && h.type == CHATD_PACKET_DATA)));
      /* the header written back is the one parsed */
      if (h.type == CHATD_PACKET_DATA)
        {
          guint8 again[CHATD_PACKET_HEADER_LEN];
          g_assert (chatd_packet_write_header (again, sizeof again, &h) == CHATD_PACKET_HEADER_LEN);
          g_assert (memcmp (again, data, CHATD_PACKET_HEADER_LEN) == 0);
        }
      (void) chatd_packet_check_crc (data, size);
      parse_frames (data + h.header_len, size - h.header_len - CHATD_CRC_LEN);
    }
  /* the frame parser on its own, so that mutations reach it directly */
  parse_frames (data, size);
  return 0;
}
