/* options.c - the option table, expanded from options.def. */
#include "config/config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct pw_opt_def defs[] = {
#define PW_OPT(id, name, sh, type, def, where, secure, arg, help)                                  \
	{PW_OPT_##id, name, sh, T_##type, def, where, secure, arg, help},
#include "config/options.def"
#undef PW_OPT
};

const struct pw_opt_def *pw_opt_def(enum pw_opt_id id)
{
	return &defs[id];
}

int pw_opt_find(const char *name)
{
	for (size_t i = 0; i < PW_OPT__COUNT; i++)
		if (strcmp(defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

int pw_opt_find_short(char c)
{
	for (size_t i = 0; i < PW_OPT__COUNT; i++)
		if (c && defs[i].short_name == c)
			return (int)i;
	return -1;
}

void pw_opt_env_name(const struct pw_opt_def *d, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "PGWARD_");
	for (const char *p = d->name; *p && o + 1 < size; p++)
		buf[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[o < size ? o : size - 1] = 0;
}
