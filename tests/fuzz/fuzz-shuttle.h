/* fuzz-shuttle.h: moves every pending datagram between two sans-IO
 * endpoints, 1 ms of virtual time per round (the transport harnesses). */
#pragma once
#include "chatd-endpoint.h"

static inline void
fuzz_shuttle (ChatdEndpoint *a, const ChatdAddress *aa, ChatdEndpoint *b, const ChatdAddress *ba,
              gint64 *now, guint rounds)
{
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
  ChatdAddress to;
  gsize len;
  for (guint i = 0; i < rounds; i++)
    {
      while ((len = chatd_endpoint_poll_transmit (a, *now, buf, sizeof buf, &to)) > 0)
        chatd_endpoint_handle_datagram (b, *now, aa, buf, len);
      while ((len = chatd_endpoint_poll_transmit (b, *now, buf, sizeof buf, &to)) > 0)
        chatd_endpoint_handle_datagram (a, *now, ba, buf, len);
      *now += 1000;
      chatd_endpoint_handle_timeout (a, *now);
      chatd_endpoint_handle_timeout (b, *now);
    }
}
