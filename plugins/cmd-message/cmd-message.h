/* cmd-message.h: the messaging commands (send, recv, verify, outbox), one file each. */
#pragma once
#include <chatd/service-messaging.h>

extern const ChatdCommand chatd_cmd_send;
extern const ChatdCommand chatd_cmd_recv;
extern const ChatdCommand chatd_cmd_verify;
extern const ChatdCommand chatd_cmd_outbox;

/* The messaging service, or fails the call and returns NULL. */
const ChatdMessagingService *cmd_message_service (const ChatdHost *host, ChatdCall *call);
/* "[time] from: text" */
char *cmd_message_render_one (GVariant *message);
