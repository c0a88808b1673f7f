/* session-service.h: the session service tables of the two roles. */
#pragma once
#include <chatd/service-messaging.h>
#include <chatd/service-session.h>

const ChatdSessionService *chatd_session_service_for_server (void);
const ChatdSessionService *chatd_session_service_for_user   (void);
const ChatdMessagingService *chatd_messaging_service_for_user (void);
