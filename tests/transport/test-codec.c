/* test-codec.c: varints, range sets, packet headers and frames. */
#include "chatd-crc32.h"
#include "chatd-frame.h"
#include "chatd-packet.h"
#include "chatd-ranges.h"
#include "chatd-wire.h"

#include <gcrypt.h>
#include <string.h>

static void
test_varint (void)
{
  const guint64 values[] = { 0, 1, 63, 64, 16383, 16384, 1073741823, 1073741824, CHATD_VARINT_MAX };
  const gsize sizes[] = { 1, 1, 1, 2, 2, 4, 4, 8, 8 };
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      guint8 buf[8];
      ChatdWriter w;
      ChatdReader r;
      guint64 v = 0;
      chatd_writer_init (&w, buf, sizeof buf);
      g_assert_true (chatd_writer_varint (&w, values[i]));
      g_assert_cmpuint (w.pos - buf, ==, sizes[i]);
      chatd_reader_init (&r, buf, sizes[i]);
      g_assert_true (chatd_reader_varint (&r, &v));
      g_assert_cmpuint (v, ==, values[i]);
      /* truncated input is refused, output untouched */
      chatd_reader_init (&r, buf, sizes[i] - 1);
      v = 42;
      g_assert_false (chatd_reader_varint (&r, &v));
      g_assert_cmpuint (v, ==, 42);
      g_assert_false (r.ok);
    }
  guint8 small[1];
  ChatdWriter w;
  chatd_writer_init (&w, small, 1);
  g_assert_false (chatd_writer_varint (&w, 64));
  chatd_writer_init (&w, small, 1);
  g_assert_false (chatd_writer_varint (&w, CHATD_VARINT_MAX + 1));
}

/* Random operations against a bitmap model. */
static void
test_ranges (void)
{
  GRand *r = g_rand_new_with_seed (7);
  for (guint round = 0; round < 200; round++)
    {
      ChatdRangeSet set;
      gboolean model[256] = { 0 };
      chatd_range_set_init (&set);
      for (guint op = 0; op < 50; op++)
        {
          guint a = g_rand_int_range (r, 0, 256), b = g_rand_int_range (r, 0, 257);
          guint lo = MIN (a, b), hi = MAX (a, b);
          if (g_rand_int_range (r, 0, 3))
            {
              chatd_range_set_add (&set, lo, hi);
              for (guint i = lo; i < hi; i++)
                model[i] = TRUE;
            }
          else
            {
              chatd_range_set_remove (&set, lo, hi);
              for (guint i = lo; i < hi; i++)
                model[i] = FALSE;
            }
          for (guint i = 0; i < 256; i++)
            g_assert_cmpint (chatd_range_set_contains (&set, i), ==, model[i]);
          for (guint i = 0; i + 1 < set.len; i++)
            g_assert_cmpuint (set.items[i].end, <, set.items[i + 1].start);
          guint prefix = 0;
          while (prefix < 256 && model[prefix])
            prefix++;
          g_assert_cmpuint (chatd_range_set_prefix (&set), ==, prefix);
          g_assert_true (chatd_range_set_covers (&set, 5, 5));
        }
      chatd_range_set_clear (&set);
    }
  g_rand_free (r);
}

static void
test_header (void)
{
  guint8 buf[256], token[24];
  memset (token, 0xab, sizeof token);
  ChatdPacketHeader h = { .type = CHATD_PACKET_INITIAL, .dcid = 1, .pn = 2, .scid = 0x1122334455667788,
                          .params = { 100, 200, 300 }, .token = token, .token_len = sizeof token };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &h);
  g_assert_cmpuint (hl, >, CHATD_PACKET_HEADER_LEN);
  chatd_packet_append_crc (buf, hl);
  ChatdPacketHeader p;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 4, &p), ==, CHATD_PACKET_OK);
  g_assert_cmpuint (p.scid, ==, h.scid);
  g_assert_cmpuint (p.params.max_streams, ==, 300);
  g_assert_cmpuint (p.token_len, ==, 24);
  g_assert_cmpmem (p.token, 24, token, 24);
  g_assert_true (chatd_packet_check_crc (buf, hl + 4));
  buf[3] ^= 1;
  g_assert_false (chatd_packet_check_crc (buf, hl + 4));
  buf[3] ^= 1;
  /* every truncation is refused cleanly */
  for (gsize len = 0; len < hl + 4; len++)
    g_assert_cmpint (chatd_packet_parse_header (buf, len, &p), !=, CHATD_PACKET_OK);
  buf[0] = 9;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 4, &p), ==, CHATD_PACKET_BAD_VERSION);
  buf[0] = CHATD_PROTOCOL_VERSION;
  buf[1] = 7;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 4, &p), ==, CHATD_PACKET_BAD_TYPE);
  buf[1] = CHATD_PACKET_INITIAL | CHATD_PACKET_FLAG_PROTECTED;
  g_assert_cmpint (chatd_packet_parse_header (buf, hl + 4, &p), ==, CHATD_PACKET_BAD_TYPE);
}

static void
test_frames (void)
{
  guint8 buf[512];
  ChatdWriter w;
  chatd_writer_init (&w, buf, sizeof buf);
  const char data[] = "hello";
  g_assert_true (chatd_frame_write_stream_header (&w, 6, 1000, 5, TRUE, TRUE));
  chatd_writer_bytes (&w, data, 5);
  g_assert_true (chatd_frame_write_max (&w, CHATD_FRAME_MAX_STREAM_DATA, 6, 99999));
  g_assert_true (chatd_frame_write_reset (&w, 8, 3, 77));
  g_assert_true (chatd_frame_write_close (&w, 5, "bye"));
  ChatdTransportParams params = { 1, 2, 3 };
  g_assert_true (chatd_frame_write_accept (&w, 0xdeadbeef, &params));
  /* ACK: largest 100, first range 10 (90..100), gap 4 -> 84 hi, len 3 -> 81..84 */
  chatd_writer_u8 (&w, CHATD_FRAME_ACK);
  chatd_writer_varint (&w, 100);
  chatd_writer_varint (&w, 25);
  chatd_writer_varint (&w, 1);
  chatd_writer_varint (&w, 10);
  chatd_writer_varint (&w, 4);
  chatd_writer_varint (&w, 3);
  chatd_writer_u8 (&w, CHATD_FRAME_PING);
  gsize len = w.pos - buf;

  ChatdReader r;
  ChatdFrame f;
  chatd_reader_init (&r, buf, len);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpint (f.type, ==, CHATD_FRAME_STREAM);
  g_assert_cmpuint (f.u.stream.id, ==, 6);
  g_assert_cmpuint (f.u.stream.offset, ==, 1000);
  g_assert_true (f.u.stream.fin);
  g_assert_cmpmem (f.u.stream.data, f.u.stream.len, data, 5);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpuint (f.u.max.value, ==, 99999);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpuint (f.u.reset.final_size, ==, 77);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpmem (f.u.close.reason, f.u.close.reason_len, "bye", 3);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpuint (f.u.accept.cid, ==, 0xdeadbeef);
  g_assert_cmpuint (f.u.accept.params.max_streams, ==, 3);
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpint (f.type, ==, CHATD_FRAME_ACK);
  ChatdAckIter it;
  guint64 lo, hi;
  chatd_ack_iter_init (&it, &f);
  g_assert_true (chatd_ack_iter_next (&it, &lo, &hi));
  g_assert_cmpuint (lo, ==, 90);
  g_assert_cmpuint (hi, ==, 100);
  g_assert_true (chatd_ack_iter_next (&it, &lo, &hi));
  g_assert_cmpuint (hi, ==, 84);
  g_assert_cmpuint (lo, ==, 81);
  g_assert_false (chatd_ack_iter_next (&it, &lo, &hi));
  g_assert_true (chatd_frame_parse (&r, &f));
  g_assert_cmpint (f.type, ==, CHATD_FRAME_PING);
  g_assert_cmpuint (chatd_reader_remaining (&r), ==, 0);

  /* every truncation of the buffer parses cleanly or fails cleanly */
  for (gsize cut = 0; cut < len; cut++)
    {
      chatd_reader_init (&r, buf, cut);
      while (chatd_reader_remaining (&r) > 0 && chatd_frame_parse (&r, &f))
        ;
    }
}

static void
test_bad_ack (void)
{
  guint8 buf[64];
  ChatdWriter w;
  ChatdReader r;
  ChatdFrame f;
  /* first range larger than largest: underflow refused */
  chatd_writer_init (&w, buf, sizeof buf);
  chatd_writer_u8 (&w, CHATD_FRAME_ACK);
  chatd_writer_varint (&w, 5);
  chatd_writer_varint (&w, 0);
  chatd_writer_varint (&w, 0);
  chatd_writer_varint (&w, 6);
  chatd_reader_init (&r, buf, w.pos - buf);
  g_assert_false (chatd_frame_parse (&r, &f));
  /* a gap below zero refused */
  chatd_writer_init (&w, buf, sizeof buf);
  chatd_writer_u8 (&w, CHATD_FRAME_ACK);
  chatd_writer_varint (&w, 5);
  chatd_writer_varint (&w, 0);
  chatd_writer_varint (&w, 1);
  chatd_writer_varint (&w, 2);
  chatd_writer_varint (&w, 2);
  chatd_writer_varint (&w, 0);
  chatd_reader_init (&r, buf, w.pos - buf);
  g_assert_false (chatd_frame_parse (&r, &f));
  /* unknown frame type */
  buf[0] = 0x3f;
  chatd_reader_init (&r, buf, 1);
  g_assert_false (chatd_frame_parse (&r, &f));
  /* stream length beyond the packet */
  chatd_writer_init (&w, buf, sizeof buf);
  chatd_frame_write_stream_header (&w, 0, 0, 100, FALSE, TRUE);
  chatd_reader_init (&r, buf, w.pos - buf + 10);
  g_assert_false (chatd_frame_parse (&r, &f));
}

/* The packet CRC: the folding path (when this CPU has it), the byte table
 * and libgcrypt agree on every length from 0 to 3000 bytes at four
 * alignments, and the folding constants are the published ones. */
static void
test_crc32 (void)
{
  g_autofree guint8 *buf = g_malloc (3100);
  GRand *rand = g_rand_new_with_seed (7);
  ChatdCrc crc;

  /* Intel's white paper and Linux's crc32-pclmul: x^64, x^96, x^160, x^480, x^544 */
  g_assert_cmphex (chatd_crc32_fold_constant (64), ==, G_GUINT64_CONSTANT (0x163cd6124));
  g_assert_cmphex (chatd_crc32_fold_constant (96), ==, G_GUINT64_CONSTANT (0x0ccaa009e));
  g_assert_cmphex (chatd_crc32_fold_constant (160), ==, G_GUINT64_CONSTANT (0x1751997d0));
  g_assert_cmphex (chatd_crc32_fold_constant (480), ==, G_GUINT64_CONSTANT (0x1c6e41596));
  g_assert_cmphex (chatd_crc32_fold_constant (544), ==, G_GUINT64_CONSTANT (0x154442bd4));
  /* the check value of CRC-32/ISO-HDLC */
  g_assert_cmphex (chatd_crc32_bytewise ((const guint8 *) "123456789", 9), ==, 0xcbf43926);

  chatd_crc_init (&crc);
  for (gsize i = 0; i < 3100; i++)
    buf[i] = (guint8) g_rand_int (rand);
  for (gsize len = 0; len <= 3000; len++)
    for (gsize off = 0; off < 4; off++)
      {
        guint8 want[4], fast[4], packet[3100];
        gcry_md_hash_buffer (GCRY_MD_CRC32, want, buf + off, len);
        g_assert_cmphex (chatd_crc32_bytewise (buf + off, len), ==,
                         (guint32) want[0] << 24 | (guint32) want[1] << 16 | (guint32) want[2] << 8 | want[3]);
        if (chatd_crc32_fast (buf + off, len, fast))
          g_assert_cmpmem (fast, 4, want, 4);
        /* and through the packet trailer */
        memcpy (packet, buf + off, len);
        chatd_crc_append (&crc, packet, len);
        g_assert_cmpmem (packet + len, 4, want, 4);
        g_assert_true (chatd_crc_check (&crc, packet, len + 4));
        packet[len / 2] ^= 0x10;
        g_assert_true (len == 0 || !chatd_crc_check (&crc, packet, len + 4));
      }
  if (g_test_verbose ())
    g_printerr ("folding path: %s\n", chatd_crc32_is_accelerated () ? "yes" : "no (libgcrypt)");
  chatd_crc_clear (&crc);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/codec/varint", test_varint);
  g_test_add_func ("/transport/codec/ranges", test_ranges);
  g_test_add_func ("/transport/codec/header", test_header);
  g_test_add_func ("/transport/codec/frames", test_frames);
  g_test_add_func ("/transport/codec/bad-ack", test_bad_ack);
  g_test_add_func ("/transport/codec/crc32", test_crc32);
  return g_test_run ();
}
