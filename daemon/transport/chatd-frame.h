/* chatd-frame.h: the frames carried in a packet's payload.
 *
 * Several frames per packet.  chatd_frame_parse() validates one frame
 * completely (including every ACK range) without side effects, so a packet
 * is first checked as a whole and only then applied.
 */
#pragma once

#include <glib.h>

#include "chatd-packet.h"
#include "chatd-wire.h"

G_BEGIN_DECLS

typedef enum
{
  CHATD_FRAME_PADDING = 0x00,
  CHATD_FRAME_PING = 0x01,
  CHATD_FRAME_ACK = 0x02,
  CHATD_FRAME_RESET_STREAM = 0x04,
  CHATD_FRAME_STREAM = 0x08,       /* 0x08..0x0f: | OFF 0x04 | LEN 0x02 | FIN 0x01 */
  CHATD_FRAME_MAX_DATA = 0x10,
  CHATD_FRAME_MAX_STREAM_DATA = 0x11,
  CHATD_FRAME_MAX_STREAMS = 0x12,
  CHATD_FRAME_CLOSE = 0x1c,
  CHATD_FRAME_ACCEPT = 0x30,
  CHATD_FRAME_PROTECT_READY = 0x31,
} ChatdFrameType;

#define CHATD_STREAM_BIT_OFF 0x04
#define CHATD_STREAM_BIT_LEN 0x02
#define CHATD_STREAM_BIT_FIN 0x01

/* An ACK frame carries at most this many ranges after the first. */
#define CHATD_ACK_MAX_RANGES 64
#define CHATD_CLOSE_MAX_REASON 256

typedef struct
{
  guint8 type; /* ChatdFrameType; STREAM frames have type CHATD_FRAME_STREAM */
  union
  {
    struct
    {
      guint64 largest;
      guint64 delay_us;
      guint64 first_range; /* packets below largest in the first range */
      guint64 n_ranges;
      const guint8 *ranges; /* (gap, length) varint pairs, already validated */
      gsize ranges_len;
    } ack;
    struct
    {
      guint64 id;
      guint64 offset;
      const guint8 *data;
      gsize len;
      gboolean fin;
    } stream;
    struct
    {
      guint64 id;
      guint64 code;
      guint64 final_size;
    } reset;
    struct
    {
      guint64 id; /* MAX_STREAM_DATA only */
      guint64 value;
    } max;
    struct
    {
      guint64 code;
      const guint8 *reason;
      gsize reason_len;
    } close;
    struct
    {
      guint64 cid;
      ChatdTransportParams params;
    } accept;
  } u;
} ChatdFrame;

/* Parses one frame at @r; FALSE if malformed (r->ok is then FALSE). */
gboolean chatd_frame_parse (ChatdReader *r, ChatdFrame *ret_frame);

/* Iterates the packet-number ranges of a validated ACK frame from the
 * highest down: call with *state = 0 first; each call yields [lo, hi]
 * (inclusive) and returns FALSE when done. */
typedef struct
{
  ChatdReader r;
  guint64 next_hi;
  guint64 left;
  gboolean started;
} ChatdAckIter;

void     chatd_ack_iter_init (ChatdAckIter *it, const ChatdFrame *ack);
gboolean chatd_ack_iter_next (ChatdAckIter *it, guint64 *ret_lo, guint64 *ret_hi);

/* Writers: each returns FALSE (and writes nothing useful) if out of room. */
gboolean chatd_frame_write_stream_header (ChatdWriter *w, guint64 id, guint64 offset,
                                          gsize len, gboolean fin, gboolean with_len);
gsize    chatd_frame_stream_header_size (guint64 id, guint64 offset, gsize len, gboolean with_len);
gboolean chatd_frame_write_max (ChatdWriter *w, guint8 type, guint64 id, guint64 value);
gboolean chatd_frame_write_reset (ChatdWriter *w, guint64 id, guint64 code, guint64 final_size);
gboolean chatd_frame_write_close (ChatdWriter *w, guint64 code, const char *reason);
gboolean chatd_frame_write_accept (ChatdWriter *w, guint64 cid, const ChatdTransportParams *params);

G_END_DECLS
