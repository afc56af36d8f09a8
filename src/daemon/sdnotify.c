/* sdnotify.c - sd_notify for the service (see sdnotify.h). */
#include "daemon/sdnotify.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "common/err.h"
#include "common/log.h"
#include "common/str.h"

static void sdn_send(const char *what, const char *status)
{
	char msg[512];
	char shown[400] = "";
	if (status) /* one line: a newline would start another assignment */
		pw_str_printable(shown, sizeof shown, status);
	snprintf(msg, sizeof msg, "%s%s%s%s", what ? what : "", what && status ? "\n" : "",
	         status ? "STATUS=" : "", shown);
	int r = sd_notify(0, msg);
	if (r < 0)
		pw_log(PW_LOG_DEBUG, "sd_notify failed: %s", pw_strerror(-r));
}

void sdn_ready(const char *status)
{
	sdn_send("READY=1", status);
}

void sdn_status(const char *status)
{
	sdn_send(NULL, status);
}

void sdn_stopping(void)
{
	sdn_send("STOPPING=1", NULL);
}

double sdn_watchdog_interval(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return (double)usec / 2e6;
}

void sdn_watchdog(void)
{
	sdn_send("WATCHDOG=1", NULL);
}
