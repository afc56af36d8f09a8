/* secret.c - wiped, redacted secrets. Live secrets sit in a small locked registry. */
#include "common/secret.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/mem.h"

struct pw_secret {
	size_t len;
	struct pw_secret *next; /* registry link */
	struct pw_secret *prev;
	uint8_t data[]; /* len bytes + NUL */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pw_secret *reg_head;

struct pw_secret *pw_secret_new(const void *p, size_t n)
{
	struct pw_secret *s = pw_malloc(sizeof *s + n + 1);
	s->len = n;
	if (n)
		memcpy(s->data, p, n);
	s->data[n] = 0;
	pthread_mutex_lock(&reg_lock);
	s->prev = NULL;
	s->next = reg_head;
	if (reg_head)
		reg_head->prev = s;
	reg_head = s;
	pthread_mutex_unlock(&reg_lock);
	return s;
}

struct pw_secret *pw_secret_from_str(const char *str)
{
	return pw_secret_new(str, strlen(str));
}

const uint8_t *pw_secret_data(const struct pw_secret *s)
{
	return s->data;
}

const char *pw_secret_str(const struct pw_secret *s)
{
	return (const char *)s->data;
}

size_t pw_secret_len(const struct pw_secret *s)
{
	return s->len;
}

void pw_secret_free(struct pw_secret *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&reg_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		reg_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&reg_lock);
	OPENSSL_cleanse(s->data, s->len + 1);
	pw_free(s);
}

void pw_secret_foreach(void (*fn)(const char *text, size_t len, void *arg), void *arg)
{
	pthread_mutex_lock(&reg_lock);
	for (struct pw_secret *s = reg_head; s; s = s->next)
		if (s->len >= 4 && strlen((const char *)s->data) == s->len)
			fn((const char *)s->data, s->len, arg);
	pthread_mutex_unlock(&reg_lock);
}
