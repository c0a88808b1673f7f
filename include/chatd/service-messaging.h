/* service-messaging.h: what a user node offers the messaging commands (send,
 * recv, verify, outbox), looked up with host->get_service (host, CHATD_SERVICE_MESSAGING).
 * Each function ends the call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include <chatd/chatd-plugin.h>

G_BEGIN_DECLS

#define CHATD_SERVICE_MESSAGING "messaging"

typedef struct {
  /* recipients: "Bob" or "Bob,Charlie"; aa{sv} per recipient: to, id, status
   * ("delivered": stored by the recipient's node, which signed a receipt;
   * "queued": the server holds it for a recipient who is offline or
   * unreachable, a `delivery` event follows; "pending": kept in the outbox,
   * sent again after the next login) */
  void (*send)   (const ChatdHost *host, ChatdCall *call, const char *recipients, const char *text);
  /* stored messages in arrival order (aa{sv}: id, from, to, time, text),
   * after message `since` (or all), from one user (or all); with follow, the
   * call streams them as items and then every new one until cancelled */
  void (*recv)   (const ChatdHost *host, ChatdCall *call, const char *since, const char *from,
                  gboolean follow);
  /* a{sv}: name, suite, fingerprint, pinned, changed, history */
  void (*verify) (const ChatdHost *host, ChatdCall *call, const char *user);
  /* the outbox: messages sent and not yet stored by their recipient, in the
   * order sent (aa{sv}: id, to, time, state "sending" or "queued") */
  void (*outbox) (const ChatdHost *host, ChatdCall *call);
} ChatdMessagingService;

G_END_DECLS
