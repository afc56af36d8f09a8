/* notify.c - the service's webhooks (see notify.h). A first cut: none configured yet. */
#include "daemon/notify.h"

#include <stddef.h>

int notifier_start(const struct pw_config *cfg, struct notifier **out)
{
	(void)cfg;
	*out = NULL;
	return 0;
}

void notifier_post(struct notifier *n, const struct notify_event *ev)
{
	(void)n;
	(void)ev;
}

void notifier_stop(struct notifier *n)
{
	(void)n;
}
