/* call.h: one control-socket request in flight, from Run until the command
 * ends it with call_return or call_fail. */
#pragma once
#include <chatd/chatd-plugin.h>
#include <gio/gio.h>

typedef void (*ChatdCallEnded) (ChatdCall *call, gboolean failed, gpointer user_data);

/* Takes ownership of the invocation.  ended runs once, when the command ends
 * the call, right before the call is freed. */
ChatdCall    *chatd_call_new          (const ChatdHost *host, const ChatdCommand *command,
                                       GDBusMethodInvocation *invocation,
                                       ChatdCallEnded ended, gpointer user_data);
/* A call that no client made (host->call_new_internal): ending it runs done. */
ChatdCall    *chatd_call_new_internal (const ChatdHost *host, const char *label, ChatdCallDone done,
                                       gpointer user_data);
/* The host table entries */
void          chatd_call_return       (ChatdCall *call, GVariant *result);
void          chatd_call_fail         (ChatdCall *call, const GError *error);
/* Items go out batched: one Items signal carries those emitted within one
 * main-loop iteration (a high-priority idle source sends them, or emit
 * itself once a batch is full); return and fail send the rest first. */
void          chatd_call_emit         (ChatdCall *call, GVariant *item);
/* sends the pending items now */
void          chatd_call_flush_items  (ChatdCall *call);
GCancellable *chatd_call_get_cancellable (ChatdCall *call);
const ChatdHost *chatd_call_get_host  (ChatdCall *call);

GDBusConnection *chatd_call_get_connection (ChatdCall *call);
void          chatd_call_cancel       (ChatdCall *call);
/* The owner of the call goes away: the ended callback will not run. */
void          chatd_call_detach       (ChatdCall *call);

#define CHATD_CONTROL_PATH      "/org/chatd/Control"
#define CHATD_CONTROL_INTERFACE "org.chatd.Control1"
