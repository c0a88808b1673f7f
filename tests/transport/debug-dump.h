#pragma once
#include "chatd-connection-private.h"
static inline void
debug_dump_conn (ChatdConnection *c, gpointer unused)
{
  g_printerr ("conn %s state=%d inflight=%" G_GUINT64_FORMAT " ae_inflight=%u cwnd=%" G_GUINT64_FORMAT
              " send_streams=%u recv_streams=%u new_small=%u new_large=%u retx=%u peer_max_data=%" G_GUINT64_FORMAT
              " sent_total=%" G_GUINT64_FORMAT " peer_max_streams=%" G_GUINT64_FORMAT " next_seq=%" G_GUINT64_FORMAT
              " recv_max_data=%" G_GUINT64_FORMAT " recv_total=%" G_GUINT64_FORMAT " consumed=%" G_GUINT64_FORMAT
              " ack_pending=%d loss_time=%" G_GINT64_FORMAT " deadline=%" G_GINT64_FORMAT " maybe_ready=%d\n",
              c->is_client ? "client" : "server", c->state, c->bytes_in_flight, c->ack_eliciting_in_flight, c->cwnd,
              g_hash_table_size (c->send_streams), g_hash_table_size (c->recv_streams),
              c->new_small.length, c->new_large.length, c->retx.length, c->peer_max_data, c->sent_data_total,
              c->peer_max_streams, c->next_stream_seq, c->recv_max_data, c->recv_data_total, c->recv_consumed,
              c->ack_pending, c->loss_time, chatd_conn_deadline (c), c->maybe_ready);
  g_printerr ("  largest_acked=%" G_GUINT64_FORMAT " next_pn=%" G_GUINT64_FORMAT " ring=[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ") pto_count=%u probes=%u srtt=%" G_GINT64_FORMAT " pace_blocked=%d recv_floor=%" G_GUINT64_FORMAT " recv_ranges=%u\n",
              c->largest_acked, c->next_pn, c->sent.head, c->sent.tail, c->pto_count, c->probes_pending, c->smoothed_rtt, c->pace_blocked, c->recv_pn_floor, c->recv_pns.len);
  for (guint64 pn = c->sent.head; pn < c->sent.tail; pn++)
    {
      ChatdSentPacket *p = (ChatdSentPacket *) (c->sent.items + (pn & (c->sent.cap - 1)) * c->sent.elem_size);
      if (p->state == SENT_OUTSTANDING)
        g_printerr ("  outstanding pn=%" G_GUINT64_FORMAT " t=%" G_GINT64_FORMAT " size=%u flags=%u\n", pn, p->time_sent, p->size, p->flags);
    }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, c->send_streams);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ChatdSendStream *s = v;
      g_printerr ("  send %" G_GUINT64_FORMAT " len=%" G_GUINT64_FORMAT " next=%" G_GUINT64_FORMAT " max=%" G_GUINT64_FORMAT
                  " acked_ranges=%u lost_ranges=%u fin_sent=%d fin_acked=%d fin_lost=%d in_new=%d in_retx=%d\n",
                  s->id, s->len, s->next_offset, s->max_data, s->acked.len, s->lost.len, s->fin_sent, s->fin_acked,
                  s->fin_lost, s->in_new, s->in_retx);
    }
  g_hash_table_iter_init (&it, c->recv_streams);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ChatdRecvStream *s = v;
      g_printerr ("  recv %" G_GUINT64_FORMAT " highest=%" G_GUINT64_FORMAT " prefix=%" G_GUINT64_FORMAT " ranges=%u fin=%d final=%" G_GUINT64_FORMAT " adv=%" G_GUINT64_FORMAT "\n",
                  s->id, s->highest, chatd_range_set_prefix (&s->received), s->received.len, s->fin_known, s->final_size, s->max_data_advertised);
    }
}
