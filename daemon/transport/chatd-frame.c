/* chatd-frame.c: frame parser and writers. */
#include "chatd-frame.h"

#include <string.h>

static gboolean
parse_ack (ChatdReader *r, ChatdFrame *f)
{
  guint64 largest, delay, n_ranges, first;
  if (!chatd_reader_varint (r, &largest) || !chatd_reader_varint (r, &delay) ||
      !chatd_reader_varint (r, &n_ranges) || !chatd_reader_varint (r, &first))
    return FALSE;
  if (first > largest || n_ranges > CHATD_ACK_MAX_RANGES)
    return chatd_reader_fail (r);
  const guint8 *ranges = r->pos;
  guint64 smallest = largest - first;
  for (guint64 i = 0; i < n_ranges; i++)
    {
      guint64 gap, len;
      if (!chatd_reader_varint (r, &gap) || !chatd_reader_varint (r, &len))
        return FALSE;
      /* next hi = smallest - gap - 2; next lo = hi - len */
      if (smallest < gap + 2 || smallest - gap - 2 < len)
        return chatd_reader_fail (r);
      smallest = smallest - gap - 2 - len;
    }
  f->u.ack.largest = largest;
  f->u.ack.delay_us = delay;
  f->u.ack.first_range = first;
  f->u.ack.n_ranges = n_ranges;
  f->u.ack.ranges = ranges;
  f->u.ack.ranges_len = (gsize) (r->pos - ranges);
  return TRUE;
}

gboolean
chatd_frame_parse (ChatdReader *r, ChatdFrame *ret_frame)
{
  ChatdFrame f = { 0 };
  guint64 type;

  if (!chatd_reader_varint (r, &type))
    return FALSE;
  if (type >= 0x08 && type <= 0x0f)
    {
      guint64 len;
      f.type = CHATD_FRAME_STREAM;
      if (!chatd_reader_varint (r, &f.u.stream.id))
        return FALSE;
      if ((type & CHATD_STREAM_BIT_OFF) && !chatd_reader_varint (r, &f.u.stream.offset))
        return FALSE;
      if (type & CHATD_STREAM_BIT_LEN)
        {
          if (!chatd_reader_varint (r, &len))
            return FALSE;
        }
      else
        len = chatd_reader_remaining (r);
      if (len > chatd_reader_remaining (r) || f.u.stream.offset + len > CHATD_VARINT_MAX)
        return chatd_reader_fail (r);
      chatd_reader_bytes (r, (gsize) len, &f.u.stream.data);
      f.u.stream.len = (gsize) len;
      f.u.stream.fin = (type & CHATD_STREAM_BIT_FIN) != 0;
      *ret_frame = f;
      return TRUE;
    }
  f.type = (guint8) type;
  switch (type)
    {
    case CHATD_FRAME_PADDING:
      while (r->pos < r->end && *r->pos == 0)
        r->pos++;
      break;
    case CHATD_FRAME_PING:
    case CHATD_FRAME_PROTECT_READY:
      break;
    case CHATD_FRAME_ACK:
      if (!parse_ack (r, &f))
        return FALSE;
      break;
    case CHATD_FRAME_RESET_STREAM:
      if (!chatd_reader_varint (r, &f.u.reset.id) || !chatd_reader_varint (r, &f.u.reset.code) ||
          !chatd_reader_varint (r, &f.u.reset.final_size))
        return FALSE;
      break;
    case CHATD_FRAME_MAX_DATA:
    case CHATD_FRAME_MAX_STREAMS:
      if (!chatd_reader_varint (r, &f.u.max.value))
        return FALSE;
      break;
    case CHATD_FRAME_MAX_STREAM_DATA:
      if (!chatd_reader_varint (r, &f.u.max.id) || !chatd_reader_varint (r, &f.u.max.value))
        return FALSE;
      break;
    case CHATD_FRAME_CLOSE:
      {
        guint64 len;
        if (!chatd_reader_varint (r, &f.u.close.code) || !chatd_reader_varint (r, &len))
          return FALSE;
        if (len > CHATD_CLOSE_MAX_REASON)
          return chatd_reader_fail (r);
        if (!chatd_reader_bytes (r, (gsize) len, &f.u.close.reason))
          return FALSE;
        f.u.close.reason_len = (gsize) len;
      }
      break;
    case CHATD_FRAME_ACCEPT:
      if (!chatd_reader_u64 (r, &f.u.accept.cid) ||
          !chatd_reader_varint (r, &f.u.accept.params.max_data) ||
          !chatd_reader_varint (r, &f.u.accept.params.max_stream_data) ||
          !chatd_reader_varint (r, &f.u.accept.params.max_streams))
        return FALSE;
      break;
    default:
      return chatd_reader_fail (r);
    }
  *ret_frame = f;
  return TRUE;
}

void
chatd_ack_iter_init (ChatdAckIter *it, const ChatdFrame *ack)
{
  chatd_reader_init (&it->r, ack->u.ack.ranges, ack->u.ack.ranges_len);
  it->next_hi = ack->u.ack.largest;
  it->left = ack->u.ack.first_range;
  it->started = FALSE;
}

gboolean
chatd_ack_iter_next (ChatdAckIter *it, guint64 *ret_lo, guint64 *ret_hi)
{
  if (!it->started)
    {
      it->started = TRUE;
      *ret_hi = it->next_hi;
      *ret_lo = it->next_hi - it->left;
      it->next_hi = *ret_lo; /* smallest so far */
      return TRUE;
    }
  guint64 gap, len;
  if (chatd_reader_remaining (&it->r) == 0)
    return FALSE;
  if (!chatd_reader_varint (&it->r, &gap) || !chatd_reader_varint (&it->r, &len))
    return FALSE;
  /* validated by the parser: no underflow */
  guint64 hi = it->next_hi - gap - 2;
  *ret_hi = hi;
  *ret_lo = hi - len;
  it->next_hi = hi - len;
  return TRUE;
}

gsize
chatd_frame_stream_header_size (guint64 id, guint64 offset, gsize len, gboolean with_len)
{
  return 1 + chatd_varint_size (id) + (offset ? chatd_varint_size (offset) : 0) +
         (with_len ? chatd_varint_size (len) : 0);
}

gboolean
chatd_frame_write_stream_header (ChatdWriter *w, guint64 id, guint64 offset,
                                 gsize len, gboolean fin, gboolean with_len)
{
  guint8 type = CHATD_FRAME_STREAM | (offset ? CHATD_STREAM_BIT_OFF : 0) |
                (with_len ? CHATD_STREAM_BIT_LEN : 0) | (fin ? CHATD_STREAM_BIT_FIN : 0);
  chatd_writer_u8 (w, type);
  chatd_writer_varint (w, id);
  if (offset)
    chatd_writer_varint (w, offset);
  if (with_len)
    chatd_writer_varint (w, len);
  return w->ok;
}

gboolean
chatd_frame_write_max (ChatdWriter *w, guint8 type, guint64 id, guint64 value)
{
  chatd_writer_u8 (w, type);
  if (type == CHATD_FRAME_MAX_STREAM_DATA)
    chatd_writer_varint (w, id);
  chatd_writer_varint (w, value);
  return w->ok;
}

gboolean
chatd_frame_write_reset (ChatdWriter *w, guint64 id, guint64 code, guint64 final_size)
{
  chatd_writer_u8 (w, CHATD_FRAME_RESET_STREAM);
  chatd_writer_varint (w, id);
  chatd_writer_varint (w, code);
  chatd_writer_varint (w, final_size);
  return w->ok;
}

gboolean
chatd_frame_write_close (ChatdWriter *w, guint64 code, const char *reason)
{
  gsize len = reason ? MIN (strlen (reason), CHATD_CLOSE_MAX_REASON) : 0;
  chatd_writer_u8 (w, CHATD_FRAME_CLOSE);
  chatd_writer_varint (w, code);
  chatd_writer_varint (w, len);
  chatd_writer_bytes (w, reason, len);
  return w->ok;
}

gboolean
chatd_frame_write_accept (ChatdWriter *w, guint64 cid, const ChatdTransportParams *params)
{
  chatd_writer_u8 (w, CHATD_FRAME_ACCEPT);
  chatd_writer_u64 (w, cid);
  chatd_writer_varint (w, params->max_data);
  chatd_writer_varint (w, params->max_stream_data);
  chatd_writer_varint (w, params->max_streams);
  return w->ok;
}
