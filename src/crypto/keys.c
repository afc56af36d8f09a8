/* keys.c - bech32 (BIP 173) and X25519 age identities and recipients. */
#include "crypto/age.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "crypto/prim.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t pre)
{
	uint8_t b = (uint8_t)(pre >> 25);
	return ((pre & 0x1ffffff) << 5) ^ (-((b >> 0) & 1) & 0x3b6a57b2UL) ^
	       (-((b >> 1) & 1) & 0x26508e6dUL) ^ (-((b >> 2) & 1) & 0x1ea119faUL) ^
	       (-((b >> 3) & 1) & 0x3d4233ddUL) ^ (-((b >> 4) & 1) & 0x2a1462b3UL);
}

static uint32_t hrp_polymod(const char *hrp, size_t len)
{
	uint32_t chk = 1;
	for (size_t i = 0; i < len; i++)
		chk = polymod_step(chk) ^ ((uint8_t)tolower((unsigned char)hrp[i]) >> 5);
	chk = polymod_step(chk);
	for (size_t i = 0; i < len; i++)
		chk = polymod_step(chk) ^ ((uint8_t)tolower((unsigned char)hrp[i]) & 31);
	return chk;
}

int age_bech32_encode(const char *hrp, const uint8_t *data, size_t n, bool upper, char *out,
                      size_t outcap)
{
	size_t hlen = strlen(hrp);
	size_t n5 = (n * 8 + 4) / 5;
	if (hlen + 1 + n5 + 6 + 1 > outcap)
		return -1;
	uint32_t chk = hrp_polymod(hrp, hlen);
	size_t o = 0;
	for (size_t i = 0; i < hlen; i++)
		out[o++] =
		    (char)(upper ? toupper((unsigned char)hrp[i]) : tolower((unsigned char)hrp[i]));
	out[o++] = '1';
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			uint8_t v = (uint8_t)((acc >> bits) & 31);
			chk = polymod_step(chk) ^ v;
			out[o++] = charset[v];
		}
	}
	if (bits) {
		uint8_t v = (uint8_t)((acc << (5 - bits)) & 31);
		chk = polymod_step(chk) ^ v;
		out[o++] = charset[v];
	}
	for (int i = 0; i < 6; i++)
		chk = polymod_step(chk);
	chk ^= 1;
	for (int i = 0; i < 6; i++)
		out[o++] = charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = 0;
	if (upper)
		for (size_t i = 0; i < o; i++)
			out[i] = (char)toupper((unsigned char)out[i]);
	return 0;
}

long age_bech32_decode(const char *s, char *hrp_out, size_t hrpcap, uint8_t *data, size_t datacap)
{
	size_t len = strlen(s);
	bool lower = false, upper = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126)
			return -1;
		if (islower(c))
			lower = true;
		if (isupper(c))
			upper = true;
	}
	if (lower && upper)
		return -1;
	const char *sep = strrchr(s, '1');
	if (!sep || sep == s || (size_t)(s + len - sep) < 7)
		return -1;
	size_t hlen = (size_t)(sep - s);
	if (hlen + 1 > hrpcap)
		return -1;
	memcpy(hrp_out, s, hlen);
	hrp_out[hlen] = 0;
	uint32_t chk = hrp_polymod(s, hlen);
	const char *d = sep + 1;
	size_t dlen = len - hlen - 1;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < dlen; i++) {
		const char *p = strchr(charset, tolower((unsigned char)d[i]));
		if (!p || !d[i])
			return -1;
		uint8_t v = (uint8_t)(p - charset);
		chk = polymod_step(chk) ^ v;
		if (i < dlen - 6) {
			acc = (acc << 5) | v;
			bits += 5;
			if (bits >= 8) {
				bits -= 8;
				if (o >= datacap)
					return -1;
				data[o++] = (uint8_t)((acc >> bits) & 0xff);
			}
		}
	}
	if (chk != 1)
		return -1;
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

int age_x25519_generate(struct age_x25519 *k)
{
	int rc = pw_random(k->secret, 32);
	if (rc < 0)
		return rc;
	return pw_x25519_public(k->secret, k->pub);
}

int age_identity_parse(const char *s, struct age_x25519 *k)
{
	char hrp[32];
	uint8_t data[64];
	long n = age_bech32_decode(s, hrp, sizeof hrp, data, sizeof data);
	if (n != 32 || strcmp(hrp, "AGE-SECRET-KEY-") != 0) {
		OPENSSL_cleanse(data, sizeof data);
		pw_error(PW_E_KEY, "malformed age identity");
		return pw_error_hint("An identity is one line starting with "
		                     "\"AGE-SECRET-KEY-1\", as written by \"pgward keygen\".");
	}
	memcpy(k->secret, data, 32);
	OPENSSL_cleanse(data, sizeof data);
	return pw_x25519_public(k->secret, k->pub);
}

int age_recipient_parse(const char *s, uint8_t pub[32])
{
	char hrp[32];
	uint8_t data[64];
	long n = age_bech32_decode(s, hrp, sizeof hrp, data, sizeof data);
	if (n != 32 || strcmp(hrp, "age") != 0) {
		pw_error(PW_E_KEY, "malformed recipient \"%.80s\"", s);
		return pw_error_hint("A recipient is a public key starting with \"age1\", as "
		                     "printed by \"pgward keygen -y IDENTITY-FILE\".");
	}
	memcpy(pub, data, 32);
	return 0;
}

void age_identity_encode(const struct age_x25519 *k, char out[AGE_IDENTITY_STRLEN + 1])
{
	age_bech32_encode("AGE-SECRET-KEY-", k->secret, 32, true, out, AGE_IDENTITY_STRLEN + 1);
}

void age_recipient_encode(const uint8_t pub[32], char out[AGE_RECIPIENT_STRLEN + 1])
{
	age_bech32_encode("age", pub, 32, false, out, AGE_RECIPIENT_STRLEN + 1);
}
