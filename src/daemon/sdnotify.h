/*
 * sdnotify.h - telling systemd how the service is (sd_notify(3), libsystemd): READY=1
 * once the configuration is checked and the API listens, STATUS= lines, WATCHDOG=1 and
 * STOPPING=1. Every call is a no-op when NOTIFY_SOCKET is not set (not under systemd with
 * Type=notify); a failure to send is logged at debug and never stops the service.
 */
#ifndef PW_DAEMON_SDNOTIFY_H
#define PW_DAEMON_SDNOTIFY_H

void sdn_ready(const char *status);
void sdn_status(const char *status);
void sdn_stopping(void);
/* Seconds between two WATCHDOG=1 (half of WATCHDOG_USEC), or 0 when none is asked for. */
double sdn_watchdog_interval(void);
void sdn_watchdog(void);
#endif
